"""The bilateral trade table, docs/reference/bilateral-trade.csv: its form, and how the default
scenario's calibrated dependence on the supplier compares with it.

The model's dependence of a country on the supplier for a mineral, in the calibration (no bloc, no
supplier move), is the scenario's `exposure`: the share of the country's consumption that comes
from the supplier. In the payoffs it is moved by the supplier's share of the supply the country
buys over that share in the no-policy world, a ratio of one in the calibration itself, so there it
is the exposure as given (negotiation/engine/payoffs.py, `supply_security`).

The table gives shares of a country's imports by partner. To put the two on one basis:

- for the United States, an import share times the US net import reliance for the mineral
  (docs/reference/import-dependence.csv: USGS MCS 2025) is the share of US consumption that
  comes from that partner, the scenario's own arithmetic for its US exposures;
- for the EU and Japan, which produce none or almost none of these goods (the EU's 670 t of
  graphite against 80,000 t of use, Japan's 3 t of primary gallium), the import share is taken
  as the share of supply.

They agree when the two differ by at most TOLERANCE (0.10, absolute). Where the model disagrees
with the statistics the scenario is NOT tuned here: those rows are KNOWN_GAPS, marked xfail
(strict, so that a row that comes to agree fails until it is moved to AGREES), each with its
reason, and docs/reference/domain-data.md section 1.8 reports them with their figures.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TABLE = ROOT / "docs" / "reference" / "bilateral-trade.csv"
IMPORT_DEPENDENCE = ROOT / "docs" / "reference" / "import-dependence.csv"

COLUMNS = [
    "id", "importer", "mineral", "good", "hs_code", "partner", "share", "kind", "basis", "years",
    "mark", "source", "note",
]  # fmt: skip
MARKS = {"R", "R-sec", "D"}
KINDS = {"point", "at_least", "at_most"}
BASES = {"value", "quantity", "use", "not stated"}
MINERALS = {
    "lithium", "nickel", "cobalt", "rare_earths", "graphite", "gallium", "germanium", "copper",
}  # fmt: skip
#: the table's importers that are actors of the default scenario
ACTORS = {
    "United States": "us", "EU": "eu", "Japan": "japan", "Mexico": "mexico",
    "Singapore": "singapore",
}  # fmt: skip
SUPPLIER = "China"  # the dominant supplier of the default scenario is calibrated on China
TOLERANCE = 0.10

#: rows on which the model's calibrated dependence agrees with the statistics (within TOLERANCE)
AGREES = [
    # (the two marked "own source" are the figures the scenario was calibrated on: they check
    # that the scenario still carries them, not an independent agreement)
    "us-ree-mcs2025-cn",  # 0.80 x 0.70 = 0.56; model 0.56 (the scenario's own source)
    "us-ree-2024-cn",  # 0.80 x 0.77 = 0.616; model 0.56
    "us-284690-2024-cn-value",  # 0.80 x 0.745 = 0.596; model 0.56
    "us-graphite-mcs2025-cn",  # 1.00 x 0.43 = 0.43; model 0.43 (the scenario's own source)
    "eu-ga-2024-cn",  # more than 0.70; model 0.71
    "eu-natgraphite-2024-cn",  # 0.42; model 0.40
    "jp-ree-h1-2024-cn",  # 0.796; model 0.70
]

#: rows on which it does not, with the reason; the scenario is not changed to fit them
KNOWN_GAPS = {
    "us-284690-2024-cn-qty": "by weight 0.80 x 0.84 = 0.672 against 0.56: just outside the band "
    "(by value, 0.596, it agrees)",
    "us-ndfeb-q1-2024-cn": "magnets 0.80 x 0.835 = 0.668 against 0.56: the model's rare-earth "
    "market counts imported magnets in US use, and those come more from China than the compounds",
    "us-ndfeb-q1-2025-cn": "magnets 0.80 x 0.847 = 0.678 against 0.56 (as Q1 2024)",
    "us-co-mcs2020-cn": "0.76 x 0.11 = 0.084 against 0.57: the scenario counts China's ~75% of "
    "cobalt refining, while the USGS import sources are Norway, Japan, China and others (refined "
    "metal counts where it was refined); and the USGS line is of 2015-18",
    "us-ga-cma-cn": "1.00 x 0.53 = 0.53 against 0.95 (an assumption from China's 99% of primary "
    "output); an undated industry figure, but no USGS line was found",
    "us-li-doe-cn": "at most 0.50 x 0.10 = 0.05 against 0.35 (NIR x China's ~70% of refining): "
    "US lithium chemicals came from Argentina and Chile in 2016-19",
    "eu-ree-2024-cn": "0.463 by weight against 0.85: Eurostat's REE+ is compounds and metals, "
    "by weight; the scenario's 0.85 is magnets (ECA, 17 of 20 kt), a different good",
    "eu-li-use-cn": "0.97 of EU lithium use against 0.50 (an assumption): a statement of use by "
    "the Commission's President, not a trade statistic",
    "jp-ga-cn": "about 0.60 of imports (0.33 of use) against 0.80 (an assumption)",
}


def _rows() -> list[dict[str, str]]:
    with TABLE.open(newline="") as f:
        return list(csv.DictReader(f))


ROWS = {row["id"]: row for row in _rows()}


def _us_net_import_reliance() -> dict[str, float]:
    """US net import reliance by mineral, from import-dependence.csv (">0.50" read as 0.50)."""
    names = {"graphite_natural": "graphite"}
    with IMPORT_DEPENDENCE.open(newline="") as f:
        return {
            names.get(row["what"], row["what"]): float(row["share"].lstrip(">"))
            for row in csv.DictReader(f)
            if row["importer"] == "United States"
        }


NIR = _us_net_import_reliance()


def _statistic(row: dict[str, str]) -> float:
    """The row's share of the importer's supply from the partner, on the model's basis."""
    share = float(row["share"])
    return NIR[row["mineral"]] * share if row["importer"] == "United States" else share


def _agrees(row: dict[str, str], model: float) -> bool:
    stat = _statistic(row)
    if row["kind"] == "at_least":
        return model >= stat - TOLERANCE
    if row["kind"] == "at_most":
        return model <= stat + TOLERANCE
    return abs(model - stat) <= TOLERANCE


@pytest.fixture(scope="module")
def exposure() -> dict[tuple[str, str], float]:
    """The default scenario's calibrated dependence on the supplier, by (actor, mineral)."""
    from negotiation import BlocModel, load_scenario

    m = BlocModel(load_scenario("ministerial-2026"), rng=0)
    return {
        (a, mineral): float(m.data.exposure[m.index[a], j])
        for a in m.actor_ids
        for j, mineral in enumerate(m.minerals)
    }


# ---------------------------------------------------------------------------------------------
# The table's form


def test_the_table_has_its_columns_and_a_source_a_mark_and_a_share_on_every_row():
    with TABLE.open(newline="") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == COLUMNS
        rows = list(reader)
    assert len(rows) >= 20
    assert len({r["id"] for r in rows}) == len(rows), "ids must be unique"
    for i, row in enumerate(rows, start=2):
        where = f"bilateral-trade.csv line {i} ({row['id']})"
        filled = ("id", "importer", "good", "partner", "years", "source")
        assert all(row[c].strip() for c in filled), where
        assert row["mark"] in MARKS, f"{where}: mark {row['mark']!r}"
        assert row["kind"] in KINDS, f"{where}: kind {row['kind']!r}"
        assert row["basis"] in BASES, f"{where}: basis {row['basis']!r}"
        assert row["mineral"] in MINERALS | {""}, f"{where}: mineral {row['mineral']!r}"
        assert 0.0 <= float(row["share"]) <= 1.0, f"{where}: share {row['share']}"


def test_a_derived_row_shows_its_arithmetic():
    derived = [row for row in ROWS.values() if row["mark"] == "D"]
    assert derived
    for row in derived:
        assert "=" in row["note"], f"{row['id']}: a [D] row shows its arithmetic in its note"


def test_the_partners_of_one_statistic_add_to_at_most_one():
    """The rows of one statistic (ids that differ only in their last part, the partner) on one
    basis are parts of one whole: their point shares add to at most one."""
    total: dict[tuple[str, str], float] = defaultdict(float)
    for i, row in ROWS.items():
        if row["kind"] == "point" and " and " not in row["partner"]:
            total[(i.rsplit("-", 1)[0], row["basis"])] += float(row["share"])
    assert total[("us-ree-mcs2025", "not stated")] == pytest.approx(1.0)
    for key, s in total.items():
        assert s <= 1.005, f"{key}: shares add to {s:.3f}"


def test_every_supplier_row_of_a_bloc_country_is_compared_or_listed_as_a_gap():
    """A new row from China for a model actor and mineral must be put in AGREES or KNOWN_GAPS."""
    compared = set(AGREES) | set(KNOWN_GAPS)
    assert len(compared) == len(AGREES) + len(KNOWN_GAPS)
    assert compared <= set(ROWS), compared - set(ROWS)
    to_compare = {
        i for i, row in ROWS.items()
        if row["partner"] == SUPPLIER and row["importer"] in ACTORS and row["mineral"]
    }  # fmt: skip
    assert to_compare == compared, (to_compare - compared, compared - to_compare)


# ---------------------------------------------------------------------------------------------
# The model against the statistics


@pytest.mark.parametrize("row_id", AGREES)
def test_the_calibrated_dependence_agrees_with_the_trade_statistics(row_id, exposure):
    row = ROWS[row_id]
    model = exposure[(ACTORS[row["importer"]], row["mineral"])]
    stat = _statistic(row)
    assert _agrees(row, model), (
        f"{row_id}: model {model:.3f}, statistics {row['kind']} {stat:.3f} "
        f"({row['importer']} {row['mineral']} from {row['partner']}, {row['years']})"
    )


@pytest.mark.parametrize(
    "row_id",
    [
        pytest.param(i, marks=pytest.mark.xfail(strict=True, reason=why))
        for i, why in KNOWN_GAPS.items()
    ],
)
def test_the_known_gaps_between_the_model_and_the_statistics(row_id, exposure):
    row = ROWS[row_id]
    model = exposure[(ACTORS[row["importer"]], row["mineral"])]
    assert _agrees(row, model), f"{row_id}: model {model:.3f}, statistics {_statistic(row):.3f}"


def test_the_gaps_in_the_docs_table_are_the_models(exposure):
    """The table of gaps in docs/reference/domain-data.md (section 1.8) gives these figures, each
    far outside the band; a change to the scenario that moves one shows up here as well as in
    the xfail above. (The rows near the band, HS 2846.90 by weight and the magnets, are named
    so in KNOWN_GAPS.)"""
    gaps = {
        i: exposure[(ACTORS[ROWS[i]["importer"]], ROWS[i]["mineral"])] - _statistic(ROWS[i])
        for i in KNOWN_GAPS
    }
    assert gaps["us-co-mcs2020-cn"] == pytest.approx(0.57 - 0.76 * 0.11)
    assert gaps["eu-ree-2024-cn"] == pytest.approx(0.85 - 0.463)
    assert gaps["us-ga-cma-cn"] == pytest.approx(0.95 - 0.53)
    assert gaps["jp-ga-cn"] == pytest.approx(0.80 - 0.60)
    assert gaps["eu-li-use-cn"] == pytest.approx(0.50 - 0.97)
    far = ("us-co-mcs2020-cn", "eu-ree-2024-cn", "us-ga-cma-cn", "jp-ga-cn", "eu-li-use-cn")
    assert all(abs(gaps[i]) > 2 * TOLERANCE for i in far)
