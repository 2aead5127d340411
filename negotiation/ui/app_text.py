"""The web app's explanations: a few words beside each lever, the reasons a lever has no effect
under the current settings, and the About tab's glossary.

Every sentence here must stay true of the model as docs/ODD.md describes it (Submodels B to E,
H): tests/test_app.py holds the greying rules to the model's own behaviour.
"""

from __future__ import annotations

from collections.abc import Mapping

from negotiation.rules.types import money

#: What each instrument does, in one sentence (docs/ODD.md, Submodel C).
INSTRUMENT_HELP: dict[str, str] = {
    "border": (
        "A variable tariff at the bloc's border lifts outsiders' supply to the floor: buyers in "
        "the bloc pay the floor, no government money is spent."
    ),
    "price_gap": (
        "Members pay their own producers the gap between the floor and the market price: buyers "
        "do not pay the floor, governments pay the gap (a fiscal outlay)."
    ),
    "stockpile": (
        "A fund buys on the world market at the floor until it runs dry: the world price rises "
        "for everyone, outsiders' producers included, and members hold the stock: an asset "
        "they count at what it would fetch sold (its tonnes at the price the market pays "
        "without the bloc's support, less a discount for selling), so its purchases are not all "
        "loss: what the fund pays above that price is."
    ),
}

#: What each of the supplier's strategies does (docs/ODD.md, Submodel E).
STRATEGY_HELP: dict[str, str] = {
    "passive": "sells what pays, every round: it never moves against the bloc",
    "flood": (
        "dumps extra volume on the floored minerals it supplies, to make the floors expensive "
        "to defend; it costs the supplier while it lasts"
    ),
    "export-controls": (
        "withholds exports to members in the minerals it dominates (like the December 2024 "
        "gallium and germanium ban on the US): membership costs supply"
    ),
    "blanket-controls": (
        "licenses exports to every foreign buyer in the minerals it dominates (like the August "
        "2023 gallium licensing): members and outsiders alike lose supply"
    ),
    "side-offers": (
        "offers the least committed member a yearly payment, paid only if it leaves the bloc"
    ),
    "adaptive": (
        "looks one round ahead and picks whichever of selling normally, a flood, controls aimed "
        "at members or a side offer serves it best"
    ),
}


def floors_help(scenario_floors: Mapping[str, float], names: Mapping[str, str]) -> str:
    opened = [names[m] for m, f in scenario_floors.items() if f > 0]
    world = (
        f"The scenario opens with floors on {', '.join(opened)}."
        if opened
        else "The scenario opens with no floor."
    )
    return (
        "The lowest price the bloc defends for a mineral, USD per tonne. "
        f"{world} A higher floor pays members' producers more and draws new mines; who pays "
        "for it depends on the instrument."
    )


def instrument_help(instrument: str, stockpile_fund: float) -> str:
    text = INSTRUMENT_HELP.get(instrument, "")
    if instrument == "stockpile":
        text += f" This scenario's fund: {money(stockpile_fund).lstrip('+')}."
    return text


def penalty_help(scenario_penalty: float) -> str:
    return (
        "An extra margin on everything outsiders sell into the bloc: minerals, and covered goods "
        "such as magnets and battery materials. It is what staying out costs an outsider, and "
        "what the bloc's buyers pay on outsiders' goods. Expect more to join as it rises, until "
        f"it costs members more than it brings. The scenario's: {scenario_penalty:.0%}."
    )


COST_SHARING_HELP = (
    "How members split the money spent on the floors (price-gap payments, stockpile purchases): "
    "by the value of what each consumes, or in equal shares. A member pays at most its fiscal "
    "capacity; beyond it the support is rationed."
)


def seed_help(uncertain: bool = True) -> str:
    """What the seed does (docs/ODD.md, Stochasticity): with `[uncertainty]` enabled it draws
    the world's luck and the forecast errors; with it off it only orders who answers first and
    drives random strategies, so a new seed often plays the very same run."""
    if not uncertain:
        return (
            "This scenario draws no outages, demand swings or surprises: the seed only orders "
            "who answers first within a round and drives random strategies, so with the "
            "built-in strategies a new seed often plays the very same run."
        )
    return (
        "The seed draws the run's luck: outages at mines and refineries, swings in demand, the "
        "supplier's surprise export controls and each country's forecast errors (and who "
        "answers first within a round). The same seed plays the same run again; a new seed, "
        "another run. At one seed, changed levers meet the same outages, swings and surprises."
    )


def strategy_help(strategy: str) -> str:
    what = STRATEGY_HELP.get(strategy)
    return f"The dominant supplier {what}." if what else ""


AGGRESSIVENESS_HELP = (
    "How hard the supplier acts: the volume of a flood, the share of exports controls withhold, "
    "the premium in a side offer."
)


def the(name: str) -> str:
    """ "the United States", "the European Union", "Japan"."""
    return f"the {name}" if name.split()[0] in ("United", "European", "Netherlands") else name


def weights_help(country: str) -> str:
    return (
        f"How much {the(country)} cares about each part of its payoff (1 = at face value, in "
        "dollars). A higher weight on supply security makes a bloc that secures supply worth "
        "more to it; on consumer cost, higher prices hurt more; on openness of trade, a "
        "trading hub's business lost by discriminating counts more."
    )


def patience_help(country: str) -> str:
    return (
        f"How many rounds in a row {the(country)} stays in while it expects to do better "
        "outside over its horizon, the cost of leaving counted; then it leaves, and is not "
        "invited back for as many rounds."
    )


# ----------------------------------------------------------------------------------------------
# Levers without effect


PARTNERS_HELP = (
    "Countries outside the bloc whose producers sell into its market on its terms (offtake, as "
    "the US-Australia framework of October 2025 names it): at the bloc's price, or the floor "
    "with price-gap payments, the gap paid by the members, for the share of their output under "
    "contract (the offtake share). That supply counts as the bloc's own; their buyers pay the "
    "world price and they pay none of the bloc's costs, so they may gain less by joining. A "
    "partner that joins is a member."
)


OFFTAKE_SHARE_HELP = (
    "How much of each offtake partner's output the bloc contracts: that share sells into the "
    "bloc's market on its terms (secured supply, the gap paid on it under price-gap payments), "
    "the rest at the world price. The less the bloc buys from a partner outside, the more the "
    "partner's miners would gain by joining. The sources name no volume: 100% is an "
    "assumption. A partner with its own contract (offtake_shares, such as australia = 0.65, "
    "as Lynas is to supply Japan with up to 65% of Mt Weld's Dy/Tb) keeps its own share."
)


def partners_idle(instrument: str, any_floor: bool, penalty: float) -> str:
    """Why the offtake partners change nothing now ("" if they may): nothing lifts the bloc's
    price above the world's (no penalty, and no floor or one the stockpile defends on the world
    market)."""
    if penalty > 0:
        return ""
    if not any_floor:
        return (
            "No effect while no floor and no penalty lift the bloc's price: there is no price "
            "to sell at."
        )
    if instrument == "stockpile":
        return (
            "No effect with the stockpile and no penalty: the fund buys on the world market, "
            "so the bloc pays no price of its own to sell at."
        )
    return ""


def cost_sharing_idle(instrument: str, any_floor: bool) -> str:
    """Why the cost-sharing key changes nothing now ("" if it may)."""
    if instrument == "border":
        return (
            "No effect under the border tariff: it spends no government money, so there is "
            "nothing to share. Pick Price gap or Stockpile to use it."
        )
    if not any_floor:
        return "No effect while no mineral has a floor: nothing is spent to defend one."
    return ""


def aggressiveness_idle(strategy: str) -> str:
    """Why the supplier's aggressiveness changes nothing now ("" if it may)."""
    if strategy == "passive":
        return (
            "No effect: a passive supplier never acts against the bloc. Pick another strategy "
            "to use it."
        )
    return ""


# ----------------------------------------------------------------------------------------------
# The About tab's glossary

GLOSSARY: tuple[tuple[str, str], ...] = (
    (
        "Price floor",
        "The lowest price the bloc defends for a mineral (USD per tonne). It matters only when "
        "the market price falls below it; an instrument says how it is defended.",
    ),
    (
        "Border-adjusted tariff",
        "The instrument *Border tariff*: a variable levy on outsiders' supply that lifts its "
        "landed price to the floor. The bloc's buyers pay the floor; governments spend nothing "
        "and collect the tariff.",
    ),
    (
        "Price-gap payment",
        "The instrument *Price gap*: members pay their own producers the difference between the "
        "floor and the market price (as in the 2025 US Defense Department offtake with MP "
        "Materials). Buyers do not pay the floor; governments pay the gap.",
    ),
    (
        "Stockpile",
        "The instrument *Stockpile*: a fund buys on the world market at the floor until it runs "
        "dry. It lifts the world price for everyone, outsiders' producers included, and the "
        "stock it holds covers members when the supplier restricts its exports. The stock is "
        "an asset: members count it at what it would fetch sold, its tonnes at the price the "
        "market pays without the bloc's support, less a discount for selling a large stock "
        "(`stockpile_resale`, 0.65: tin's price fell overnight to 62% of the defended one when "
        "the 1985 buffer stock stopped buying, then to 40%). What the fund pays above the "
        "unsupported price is lost; the rest of its cash bought an asset.",
    ),
    (
        "Outsider penalty",
        "An extra margin on what non-members sell into the bloc, minerals and covered goods "
        "(magnets, battery materials, a hub's re-exports). Staying out then costs an outsider "
        "access to the bloc's market: Nordhaus's climate club, where a penalty on outsiders is "
        "what holds a club together.",
    ),
    (
        "Cost sharing",
        "How members split the money the floors cost (price-gap payments and stockpile "
        "purchases): by the value of their consumption, in equal shares, or by a scenario's "
        "table. Each pays at most its fiscal capacity.",
    ),
    (
        "Offtake partner",
        "A country outside the bloc whose producers sell into the bloc's market on its terms "
        "(the bloc's price, or the floor with price-gap payments, which the members pay), as "
        "the US-Australia framework of October 2025 names offtake. Its buyers pay the world "
        "price and it shares none of the bloc's costs.",
    ),
    (
        "Side offer",
        "A yearly payment the supplier offers one member, paid only if it leaves the bloc: "
        "worth the member's gain from staying plus a premium, within the supplier's budget.",
    ),
    (
        "Export controls",
        "The supplier withholds exports of the minerals it dominates. *Aimed at members* "
        "(strategy export-controls) cuts only the bloc's supply, so membership costs supply; "
        "*blanket* (strategy blanket-controls) licenses sales to every foreign buyer, so the cut "
        "falls on members and outsiders alike.",
    ),
    (
        "Flood",
        "The supplier sells extra volume at any price in the floored minerals, to sink the "
        "world price under the floors and make them expensive to defend.",
    ),
    (
        "Patience",
        "How many rounds in a row a member stays while it expects to do better outside over its "
        "horizon, the cost of leaving counted, before it leaves.",
    ),
)


def glossary_markdown() -> str:
    return "\n".join(f"- **{term}**: {meaning}" for term, meaning in GLOSSARY)
