"""A digest of every built-in scenario's records, to show a refactoring changed no behaviour.

    .venv/bin/python scripts/records_digest.py                  # print a digest per scenario
    .venv/bin/python scripts/records_digest.py --save before.json
    ... move code around ...
    .venv/bin/python scripts/records_digest.py --compare before.json   # exit 1 if any differs
    .venv/bin/python scripts/records_digest.py --drop new_column ...    # a column added on purpose

Each scenario is run for its full length at a few seeds; the digest is the SHA-256 of its rounds,
actors and events tables written as CSV with every float to 17 significant digits (byte for byte:
the same records give the same digest, any change in any figure or word changes it).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

from negotiation import BlocModel, load_scenario, scenario_names

SEEDS = (0, 1, 2)


def digest(name: str, seeds=SEEDS, drop: tuple[str, ...] = ()) -> str:
    """The digest of a scenario's records at these seeds, without the columns `drop` names
    (a column a change adds on purpose: the rest of the records should be unchanged)."""
    h = hashlib.sha256()
    for seed in seeds:
        m = BlocModel(load_scenario(name), rng=seed).run()
        for table in (m.rounds_df, m.actors_df, m.events_df):
            table = table.drop(columns=list(drop), errors="ignore")
            h.update(table.to_csv(index=False, float_format="%.17g").encode())
    return h.hexdigest()


def digests(names=None, seeds=SEEDS, drop: tuple[str, ...] = ()) -> dict[str, str]:
    return {name: digest(name, seeds, drop) for name in (names or scenario_names())}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--save", type=Path, help="write the digests to this JSON file")
    ap.add_argument(
        "--compare", type=Path, help="compare with digests saved before; exit 1 if any differs"
    )
    ap.add_argument("--seeds", type=int, default=len(SEEDS), help="seeds a scenario (default 3)")
    ap.add_argument(
        "--drop",
        nargs="*",
        default=(),
        help="columns left out of the digests (ones a change adds on purpose)",
    )
    args = ap.parse_args(argv)
    now = digests(seeds=range(args.seeds), drop=tuple(args.drop))
    if args.save:
        args.save.write_text(json.dumps(now, indent=1) + "\n")
    if args.compare:
        before = json.loads(args.compare.read_text())
        changed = sorted(n for n in set(before) | set(now) if before.get(n) != now.get(n))
        for n in sorted(now):
            print(f"{'CHANGED' if n in changed else 'same   '} {n}")
        return 1 if changed else 0
    for n, d in now.items():
        print(f"{d}  {n}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
