"""The negotiation's rules, apart from the markets: who must agree to a counter-proposal, which
counter an invitee names, which package a convener tables.

Pure functions over utilities the model has already computed (USD a year), so that the rules can
be read, tested and reasoned about on their own (docs/ODD.md, section 7 "Submodels", step 4).

**Agreement rules** (`[agenda] agreement`). A counter-proposal changes the package for the whole
bloc, so the members decide it: each member compares the bloc with the invitee in on the counter's
terms against the bloc as it stands without it (the status quo) and says yes when it is no worse
off. `unanimity` (the default, as accession to a treaty is decided): every member must say yes;
`majority`: more than half; `convener`: the member who tabled the package alone (the first
version's rule). With nobody in the bloc yet the first joiner sets the terms. A counter the rule
refuses changes nothing: the package stays as it was and the invitee stays out.

**Which counter** (`best_counter`). An invitee that would not accept the package as tabled looks
at the counters on offer (terms it may name: every floor 20% lower or 25% higher, one mineral's
floor 20% lower or 25% higher, the other cost-sharing key; at a table with minerals of interest,
their floors only) and names, among those it expects the
members to agree to and that give it at least what its strategy asks, the one worth most to it:
the proposer's choice in legislative bargaining (Baron and Ferejohn 1989), which leaves the
members no worse off and takes the rest. A patient (Boulware) strategy asks for more and so names
a counter where a conceder would accept the package as it is.

**Which package** (`design`). When a table first sits, its convener chooses, where the scenario
lets it, the floors' instrument, the floors (a multiple of those in force: every floor, or at a
table with minerals of interest, only theirs: its own package), whom to invite, the
outsider penalty (a multiple of the one in force), the cost-sharing key and the offtake terms
(the partners, producers outside the bloc selling into its market on its terms, and the share
of their output under contract), as in Nordhaus's
(2015) membership search: for each package it expects an invitee to accept when joining pays it,
weighs every group of those it could invite, and tables the package whose expected bloc is worth
most to it, among the terms the members agree to. The terms are chosen one at a time
(instrument, then floors, then penalty, then key, then offtake), each given those chosen before
it and the rest as in force, then each again given all the others as chosen, and each pair of
terms together (a package deal: doubling the penalty may serve the convener only with other
offtake partners), until a sweep changes nothing (`DESIGN_PASSES`): so that the search grows
with the options of two terms at a time, not the product of all of them
(`PENALTY_MULTIPLES`, `SHARING_KEYS`; the offtake's partners and contract share are weighed
together, `CONTRACT_SHARES`). One term at a time, the search missed the best of every
combination in 18 of 115 design rounds of four worlds with every term designed (the
ministerial, supplier-floods, Singapore and expansion worlds at seeds 0-2 over 25 rounds), by
up to $48m a year; with pairs, in none, at about seven to nine times the search's cost
(`scripts/design_search.py`). The instrument
comes first because it says what the other terms mean: a floor is a tariff outsiders pay at the
border, a bill the members' treasuries pay their producers, or a fund's purchases; the penalty
and the key are weighed given it (the key moves a bill only where the bloc pays one). Offtake
comes last: whether to buy from producers outside the bloc depends on the price and the bill
the other terms set, and an offtake partner has less reason to join.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal, NamedTuple

AgreementRule = Literal["unanimity", "majority", "convener"]
AGREEMENT_RULES: tuple[str, ...] = ("unanimity", "majority", "convener")

RULE_WORDS: dict[str, str] = {
    "unanimity": "every member must agree",
    "majority": "more than half the members must agree",
    "convener": "the member who tabled the package decides",
}


def agreed(verdicts: Mapping[str, bool], rule: str, proposer: str = "") -> bool:
    """Whether the members' yes/no on a counter-proposal carries it under `rule`.

    `verdicts`: each member's yes (no worse off with the counter) or no. No members: the first
    joiner sets the terms (True). `convener` with a proposer who is not a member falls back to
    unanimity (nobody may impose terms on members who never tabled them)."""
    if rule not in AGREEMENT_RULES:
        raise ValueError(f"unknown agreement rule {rule!r} (one of {', '.join(AGREEMENT_RULES)})")
    if not verdicts:
        return True
    yes = sum(bool(v) for v in verdicts.values())
    if rule == "convener" and proposer in verdicts:
        return bool(verdicts[proposer])
    if rule == "majority":
        return 2 * yes > len(verdicts)
    return yes == len(verdicts)


def verdicts(gains: Mapping[str, float], tolerance: Mapping[str, float]) -> dict[str, bool]:
    """Each member's yes: its gain from the counter (USD/yr, with the invitee in on the counter's
    terms against the status quo) is no loss beyond rounding (`tolerance`, USD/yr, per member)."""
    return {m: g >= -tolerance.get(m, 0.0) for m, g in gains.items()}


class Option(NamedTuple):
    """One candidate counter: its `label` in words, its value to the invitee (USD/yr) and
    whether the members are expected to agree."""

    label: str
    value: float
    agreed: bool


def best_counter(options: Sequence[Option], need: float, tolerance: float = 0.0) -> int | None:
    """The index of the counter an invitee names: among those the members are expected to agree
    to and worth at least `need` to it, the one worth most; None if none. Values within
    `tolerance` (USD/yr) of each other are a tie, and the first listed wins it: two counters
    equal in exact arithmetic (a floor that binds nowhere, lowered or not) differ by rounding,
    which must not choose between them."""
    best, best_value = None, float("-inf")
    for k, o in enumerate(options):
        if o.agreed and o.value >= need and o.value > best_value + tolerance:
            best, best_value = k, o.value
    return best


#: The multiples of the outsider penalty in force a convener weighs (with "penalty" among a
#: track's `designs`): halve it, keep it or double it. Wider than the floors' 0.8 and 1.25
#: because the penalty's effects run over orders of magnitude (5% holds a bloc together, 100%
#: breaks it: docs/explanation/negotiation-protocol.md), and multiples rather than levels so that
#: a scenario's own penalty is always the reference; the convener designs again every sixth round,
#: so it can halve or double again. The lever's bounds (0 to 2, a 200% margin) cap a doubling.
PENALTY_MULTIPLES: tuple[float, ...] = (0.5, 1.0, 2.0)

#: The default band a designing convener keeps each floor in (`[agenda] mandate` sets a
#: scenario's own), as multiples of the scenario's floor for that mineral (its mandate; an
#: assumption): designs compound on the floors in force, every sixth
#: round, so without a band a floor the members gain by raising (a tariff the supplier partly
#: bears) would ratchet up for as long as the run lasts (1.25 times at each design). Within it a
#: floor can go down three designs in a row (0.8^3 = 0.51) or up three (1.25^3 = 1.95). A
#: mineral the scenario gives no floor is bound to the first floor a design finds in force; a
#: floor a lever set outside the band may move back toward it.
FLOOR_BAND: tuple[float, float] = (0.5, 2.0)

#: The cost-sharing keys a convener weighs (with "sharing"): the two named keys, and a
#: scenario's own table of shares where it has one ("table").
SHARING_KEYS: tuple[str, ...] = ("consumption", "equal")

#: The shares of each offtake partner's output a convener weighs putting under contract (with
#: "offtake", together with the partners, since which producers to buy from depends on how much
#: of their output the bloc takes: `[policy] offtake_share`): a tenth, a quarter, half or all.
#: Levels, not multiples: a contract's size is a number the parties write down, and a design
#: every sixth round can then reach any of them at once.
CONTRACT_SHARES: tuple[float, ...] = (0.1, 0.25, 0.5, 1.0)

#: Passes of the convener's search (`BlocModel._design_search`): each term in turn, given those
#: chosen so far (the first pass) and then given all the others as chosen, and each pair of
#: terms together, until a pass changes nothing (a local best over pairs of terms), at most
#: this many in all. A guard, not a budget: on an exact tie the package held stays, so two
#: packages do not swap back and forth, and with every term designed, in six scenarios
#: (ministerial-2026, supplier-floods, singapore-open-hub, expansion, us-mexico-60-day and
#: export-controls) at seeds 0-3 over 25 rounds, no search took more than four passes (169 of
#: 224 took two, the last one changing nothing: measured once, not a test).
DESIGN_PASSES: int = 8

#: Whether the convener's search weighs each pair of terms together from its second pass on
#: (True), or one term at a time only (False: coordinate ascent, as `scripts/design_search.py`
#: compares them).
DESIGN_PAIRS: bool = True

#: The terms a person who tables the package may set (`BlocModel.propose`), each a lever as
#: `set_levers` takes it: the floors it names, the outsider penalty, the cost-sharing key, the
#: floors' instrument, the offtake partners, the share of their output under contract and
#: partners' own contract shares (a table that replaces the one in force).
PROPOSAL_TERMS: tuple[str, ...] = (
    "floors", "penalty", "cost_sharing", "instrument", "partners", "offtake_share",
    "offtake_shares",
)  # fmt: skip


#: The terms an agent's design weighs for a person's seat (`BlocModel.suggestion`) where none
#: of the seat's tables lists `designs`: every term an agent convener may design (one
#: multiple of every floor).
SUGGESTED_DESIGNS: tuple[str, ...] = (
    "instrument", "floors", "invitees", "penalty", "sharing", "offtake",
)  # fmt: skip


class Terms(NamedTuple):
    """A package's terms as a convener weighs them, relative to those in force: the multiple of
    the floors, the multiple of the outsider penalty, the cost-sharing key ("" for the key
    in force; else "consumption", "equal" or "table", the scenario's table of shares), the
    floors' instrument ("" for the one in force; else "border", "price_gap" or "stockpile") and
    the offtake partners (None for those in force; else the countries named); at tables
    with minerals of interest (each its own package), or designing each floor, the multiple of
    each of their floors
    ((mineral, multiple) pairs by mineral, those other than 1; `scale` is then 1); the share
    of each offtake partner's output under contract (None for the one in force); and the own
    contract shares of the partners it decides ((partner, share) pairs by partner, empty for
    none), where another partner keeps its contract or one of them has its own already
    (`[policy] offtake_shares`)."""

    scale: float = 1.0
    penalty: float = 1.0
    sharing: str = ""
    instrument: str = ""
    offtake: frozenset[str] | None = None
    multiples: tuple[tuple[str, float], ...] = ()
    share: float | None = None
    shares: tuple[tuple[str, float], ...] = ()

    def changes(self) -> int:
        """How many of the terms differ from those in force."""
        return (
            (self.scale != 1.0)
            + (self.penalty != 1.0)
            + (self.sharing != "")
            + (self.instrument != "")
            + (self.offtake is not None)
            + len(self.multiples)  # each floor a table's own package moves
            + (self.share is not None)
            + bool(self.shares)
        )


class Design(NamedTuple):
    """A convener's choice: the multiple of the floors it tables, whom it invites, and what it
    expects (the invitees it expects to accept, and the bloc's value to it, USD/yr); and the
    multiple of the outsider penalty, the cost-sharing key, the instrument and the offtake
    partners it tables ("" for the key or the instrument in force, None for the partners),
    the multiples of the floors of tables' own minerals (`Terms.multiples`), the offtake's
    contract share (None for the one in force) and the partners' own shares (`Terms.shares`)."""

    scale: float
    invited: tuple[str, ...]
    expected: tuple[str, ...]
    value: float
    penalty: float = 1.0
    sharing: str = ""
    instrument: str = ""
    offtake: frozenset[str] | None = None
    multiples: tuple[tuple[str, float], ...] = ()
    share: float | None = None
    shares: tuple[tuple[str, float], ...] = ()

    @property
    def terms(self) -> Terms:
        """The terms tabled, relative to those in force."""
        return Terms(
            self.scale,
            self.penalty,
            self.sharing,
            self.instrument,
            self.offtake,
            self.multiples,
            self.share,
            self.shares,
        )


def design(
    values: Mapping[tuple[Terms | float, tuple[str, ...]], float],
    invited: Mapping[tuple[Terms | float, tuple[str, ...]], tuple[str, ...]] | None = None,
    expected: Mapping[tuple[Terms | float, tuple[str, ...]], tuple[str, ...]] | None = None,
    tie: float = 0.0,
    held: tuple[Terms | float, tuple[str, ...]] | None = None,
) -> Design:
    """The package a convener tables among those it weighed.

    Parameters
    ----------
    values
        Each package's value by the convener's aims (USD/yr: its own utility and its partners'
        at their weight) of the bloc it expects, keyed by (terms,
        whom it invites): the terms a `Terms`, or a number, the multiple of the floors with the
        other terms in force.
    invited
        Whom each package invites (default: the key's second part).
    expected
        Whom the convener expects to accept each package (default: all invited).
    tie
        Values within `tie` (USD/yr) of the best are a tie (the model passes a billionth of the
        convener's stake): floors that bind nobody give the same bloc, and their values differ
        only by rounding, which must not pick the terms.
    held
        The key of the package the convener already holds from an earlier step, if any: it
        wins a tie that the rules before leave open.

    Returns
    -------
    Design
        The most valuable package; on a tie the one that changes fewest terms (the terms in
        force first), then more invitees (a bigger bloc at no cost to it), then the one held,
        then the first listed (the model lists the multiples from the smallest).
    """
    if not values:
        raise ValueError("a convener needs at least one package to table")
    invited = invited or {k: k[1] for k in values}
    expected = expected or invited

    def terms(k) -> Terms:
        return k[0] if isinstance(k[0], Terms) else Terms(float(k[0]))

    best = max(values.values())
    near = [k for k in values if values[k] >= best - tie]
    key = max(near, key=lambda k: (-terms(k).changes(), len(invited[k]), k == held))
    t = terms(key)
    return Design(
        t.scale,
        invited[key],
        expected[key],
        values[key],
        t.penalty,
        t.sharing,
        t.instrument,
        t.offtake,
        t.multiples,
        t.share,
        t.shares,
    )
