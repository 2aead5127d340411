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
floor 20% lower or 25% higher, the other cost-sharing key) and names, among those it expects the
members to agree to and that give it at least what its strategy asks, the one worth most to it:
the proposer's choice in legislative bargaining (Baron and Ferejohn 1989), which leaves the
members no worse off and takes the rest. A patient (Boulware) strategy asks for more and so names
a counter where a conceder would accept the package as it is.

**Which package** (`design`). When a table first sits, its convener chooses the floors (a multiple
of those in force) and, where the scenario lets it, whom to invite, as in Nordhaus's (2015)
membership search: for each multiple it expects an invitee to accept when joining pays it, weighs
every group of those it could invite, and tables the package whose expected bloc is worth most to
it, among the floors the members agree to.
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


class Design(NamedTuple):
    """A convener's choice: the multiple of the floors it tables, whom it invites, and what it
    expects (the invitees it expects to accept, and the bloc's value to it, USD/yr)."""

    scale: float
    invited: tuple[str, ...]
    expected: tuple[str, ...]
    value: float


def design(
    values: Mapping[tuple[float, tuple[str, ...]], float],
    invited: Mapping[tuple[float, tuple[str, ...]], tuple[str, ...]] | None = None,
    expected: Mapping[tuple[float, tuple[str, ...]], tuple[str, ...]] | None = None,
) -> Design:
    """The package a convener tables among those it weighed, each keyed by (multiple of the
    floors, whom it invites), with `values` its value to the convener (USD/yr) of the bloc it
    expects, `expected` who it expects to accept (default: all invited): the most valuable; on
    a tie the floors in force (1.0), then more invitees (a bigger bloc at no cost to it), then the
    smaller multiple."""
    if not values:
        raise ValueError("a convener needs at least one package to table")
    invited = invited or {k: k[1] for k in values}
    expected = expected or invited
    key = max(values, key=lambda k: (values[k], k[0] == 1.0, len(invited[k]), -k[0]))
    return Design(key[0], invited[key], expected[key], values[key])
