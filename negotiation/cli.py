"""The `bloc` command line.

Every user error (unknown scenario, bad value, unwritable folder) prints one line per problem,
`bloc: error: ...`, and exits with code 2; never a traceback.
"""

from __future__ import annotations

import platform
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import click

from negotiation.scenario import DEFAULT_SCENARIO, ScenarioError

USAGE_ERROR = 2


def fail(*problems: str) -> NoReturn:
    for p in problems:
        click.echo(f"bloc: error: {p}", err=True)
    sys.exit(USAGE_ERROR)


def parse_sets(values: Sequence[str]) -> dict[str, Any]:
    """`--set a.b=1 --set c=x` -> {"a.b": 1, "c": "x"} (values parsed as TOML where possible)."""
    from negotiation.scenario import parse_value

    out: dict[str, Any] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            fail(f"--set {item!r}: expected dotted.path=value")
        out[key.strip()] = parse_value(value.strip())
    return out


def writable_dir(path: Path) -> Path:
    """Create `path` if needed and check that files can be written in it."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".bloc-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as e:
        fail(f"--out {path}: cannot write there ({e.strerror or e})")
    return path


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="bloc", prog_name="bloc")
def main() -> None:
    """Bloc: game out a critical-minerals trading bloc."""


@main.command()
@click.argument("scenario", default=DEFAULT_SCENARIO)
@click.option(
    "--rounds", type=int, default=None, help="Number of rounds (default: the scenario's)."
)
@click.option(
    "--seed", type=int, default=None, help="Seed of the run's RNG [default: the scenario's, or 0]."
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Folder for rounds, actors, events and meta.json.",
)
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "parquet"]), default="csv", show_default=True
)
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="PATH=VALUE",
    help="Override a scenario value, e.g. policy.outsider_penalty=0.2 (repeatable).",
)
@click.option("--quiet", is_flag=True, help="Print nothing but errors.")
def run(
    scenario: str,
    rounds: int | None,
    seed: int | None,
    out_dir: Path | None,
    fmt: str,
    sets: tuple[str, ...],
    quiet: bool,
) -> None:
    """Run one SCENARIO (a built-in name or a TOML file) and print a summary."""
    from negotiation.records import summary, write_run
    from negotiation.scenario import load_scenario

    if rounds is not None and rounds < 1:
        fail(f"--rounds must be at least 1 (got {rounds})")
    if out_dir is not None:
        writable_dir(out_dir)
    try:
        sc = load_scenario(scenario, parse_sets(sets))
    except ScenarioError as e:
        fail(*e.problems)
    from negotiation.model import BlocModel

    if seed is None:
        seed = sc.seed if sc.seed is not None else 0
    if seed < 0:
        fail(f"--seed must be a non-negative integer (got {seed})")
    try:
        model = BlocModel(sc, rounds=rounds, rng=seed)
    except ValueError as e:
        fail(str(e))
    model.run()
    if out_dir is not None:
        meta = run_meta(sc, seed, model.rounds)
        write_run(model, out_dir, fmt, meta)
    if not quiet:
        click.echo(summary(model))
        if out_dir is not None:
            click.echo(
                f"\nWrote rounds.{fmt}, actors.{fmt}, events.{fmt} and meta.json to {out_dir}"
            )


def run_meta(sc: Any, seed: int, rounds: int) -> dict[str, Any]:
    from importlib.metadata import version

    from negotiation.scenario import scenario_to_dict

    return {
        "scenario": sc.meta.name,
        "seed": seed,
        "rounds": rounds,
        "command": " ".join(["bloc", *sys.argv[1:]]),
        "versions": {
            "bloc": version("bloc"),
            "python": platform.python_version(),
            **{p: version(p) for p in ("mesa", "numpy", "pandas")},
        },
        "scenario_data": scenario_to_dict(sc),
    }


@main.group(invoke_without_command=True)
@click.pass_context
def scenarios(ctx: click.Context) -> None:
    """List the built-in scenarios (names and summaries)."""
    if ctx.invoked_subcommand is not None:
        return
    from negotiation.scenario import load_scenario, scenario_names

    names = scenario_names()
    width = max(map(len, names), default=0)
    for name in names:
        try:
            summary_line = load_scenario(name).meta.summary
        except ScenarioError as e:
            summary_line = f"(invalid: {e.problems[0]})"
        mark = " (default)" if name == DEFAULT_SCENARIO else ""
        click.echo(f"{name.ljust(width)}  {summary_line}{mark}")


@scenarios.command("show")
@click.argument("scenario")
@click.option("--set", "sets", multiple=True, metavar="PATH=VALUE")
def scenarios_show(scenario: str, sets: tuple[str, ...]) -> None:
    """Print the fully resolved TOML of SCENARIO (extends and --set applied)."""
    from negotiation.scenario import load_scenario, scenario_to_toml

    try:
        click.echo(scenario_to_toml(load_scenario(scenario, parse_sets(sets))), nl=False)
    except ScenarioError as e:
        fail(*e.problems)


@main.command()
@click.argument("files", nargs=-1, required=True)
def validate(files: tuple[str, ...]) -> None:
    """Validate scenario FILES; one line per problem, exit code 2 if any is invalid."""
    from negotiation.scenario import load_scenario

    problems: list[str] = []
    for f in files:
        try:
            sc = load_scenario(f)
        except ScenarioError as e:
            problems.extend(e.problems)
            continue
        try:
            from negotiation.model import BlocModel

            BlocModel(sc, rounds=1, rng=0)
        except ValueError as e:
            problems.append(f"{f}: {e}")
            continue
        click.echo(f"{f}: ok ({sc.meta.title})")
    if problems:
        fail(*problems)


# --- bloc app (the web app) -------------------------------------------------------------------

# --- bloc workshop (rooms for participants) ----------------------------------------------------

# --- bloc sweep (experiments) ------------------------------------------------------------------

# --- bloc check (validation against theory and history) ----------------------------------------


def entry(argv: Sequence[str] | None = None) -> int:
    """Run the CLI in-process and return its exit code (for tests)."""
    try:
        main.main(args=list(argv) if argv is not None else None, standalone_mode=False)
    except SystemExit as e:
        return int(e.code or 0)
    except click.ClickException as e:
        e.show()
        return USAGE_ERROR
    except click.exceptions.Abort:
        return 130
    return 0


if __name__ == "__main__":
    main()
