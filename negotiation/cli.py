"""The `bloc` command line.

Every user error (unknown scenario, bad value, unwritable folder) prints one line per problem,
`bloc: error: ...`, and exits with code 2; never a traceback.
"""

from __future__ import annotations

import os
import platform
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import click

from negotiation.engine.scenario import DEFAULT_SCENARIO, ScenarioError
from negotiation.experiments.records import invocation

USAGE_ERROR = 2


def fail(*problems: str) -> NoReturn:
    for p in problems:
        click.echo(f"bloc: error: {p}", err=True)
    sys.exit(USAGE_ERROR)


def parse_sets(values: Sequence[str]) -> dict[str, Any]:
    """`--set a.b=1 --set c=x` -> {"a.b": 1, "c": "x"} (values parsed as TOML where possible)."""
    from negotiation.engine.scenario import parse_value

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


class _BlocGroup(click.Group):
    """Remembers the arguments it was called with, for the provenance files a command writes
    (`sys.argv` is the host's: pytest's, or a notebook kernel's, when the CLI runs in-process)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta["bloc.argv"] = list(args)
        return super().parse_args(ctx, args)


@click.group(cls=_BlocGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="bloc", prog_name="bloc")
def main() -> None:
    """Bloc: game out a critical-minerals trading bloc."""


#: The tables' file format, for `bloc run` and `bloc ensemble`.
FORMAT_OPTION = click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "parquet"]),
    default="csv",
    show_default=True,
    help="File format of the tables.",
)


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
@FORMAT_OPTION
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
    from negotiation.engine.scenario import load_scenario
    from negotiation.experiments.records import summary, write_run

    if rounds is not None and rounds < 1:
        fail(f"--rounds must be at least 1 (got {rounds})")
    if out_dir is not None:
        writable_dir(out_dir)
    try:
        sc = load_scenario(scenario, parse_sets(sets))
    except ScenarioError as e:
        fail(*e.problems)
    from negotiation.engine.model import BlocModel

    if seed is None:
        seed = sc.seed if sc.seed is not None else 0
    if seed < 0:
        fail(f"--seed must be a non-negative integer (got {seed})")
    try:
        model = BlocModel(sc, rounds=rounds, rng=seed)
    except ValueError as e:
        fail(str(e))
    people = model.human_seats()
    if people:
        fail(
            f"{scenario}: {', '.join(people)} played by a person (strategy 'human'): bloc run "
            "plays agents only; take the seat in the app (bloc app) or a workshop room"
        )
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

    from negotiation.engine.scenario import scenario_to_dict

    return {
        "scenario": sc.meta.name,
        "seed": seed,
        "rounds": rounds,
        "command": invocation(),
        "versions": {
            "bloc": version("bloc"),
            "python": platform.python_version(),
            **{p: version(p) for p in ("mesa", "numpy", "pandas")},
        },
        "scenario_data": scenario_to_dict(sc),
    }


@main.command()
@click.argument("scenario", default=DEFAULT_SCENARIO)
@click.option("--runs", "n_runs", type=int, default=100, show_default=True,
              help="Number of runs.")  # fmt: skip
@click.option(
    "--seed",
    type=int,
    default=None,
    help="Root seed: run i's seed is spawned from it [default: the scenario's, or 0].",
)
@click.option("--rounds", type=int, default=None, help="Rounds per run (default: the scenario's).")
@click.option(
    "--workers",
    type=int,
    default=1,
    show_default=True,
    help="Local processes (1 runs in this process); the results do not depend on it.",
)
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="PATH=VALUE",
    help="Override a scenario value, as for `bloc run` (repeatable).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Folder for runs, rounds and meta.json.",
)
@FORMAT_OPTION
@click.option("--quiet", is_flag=True, help="Print nothing but errors (no progress bar).")
def ensemble(
    scenario: str,
    n_runs: int,
    seed: int | None,
    rounds: int | None,
    workers: int,
    sets: tuple[str, ...],
    out_dir: Path | None,
    fmt: str,
    quiet: bool,
) -> None:
    """Run SCENARIO many times with spawned seeds and print its outcomes as probabilities.

    The probability that the bloc holds to the end (at the last round it has at least two
    members, and no member left it during the run), each country's probability of being in at
    the end, the most likely final memberships (each with a 95% Wilson interval), and the median
    and 90% band over runs of prices, fiscal cost and supplier share at the last round."""
    from negotiation.engine.scenario import load_scenario
    from negotiation.experiments.ensemble import EnsembleCancelled, run_ensemble, write_ensemble

    if n_runs < 1:
        fail(f"--runs must be at least 1 (got {n_runs})")
    if rounds is not None and rounds < 1:
        fail(f"--rounds must be at least 1 (got {rounds})")
    if workers < 1:
        fail(f"--workers must be at least 1 (got {workers})")
    if out_dir is not None:
        writable_dir(out_dir)
    overrides = parse_sets(sets)
    try:
        sc = load_scenario(scenario, overrides)
    except ScenarioError as e:
        fail(*e.problems)
    if seed is None:
        seed = sc.seed if sc.seed is not None else 0
    if seed < 0:
        fail(f"--seed must be a non-negative integer (got {seed})")
    from tqdm import tqdm

    bar = tqdm(
        total=n_runs,
        unit="run",
        desc="bloc ensemble",
        file=sys.stderr,
        disable=True if quiet else None,  # None: off when stderr is not a terminal
        dynamic_ncols=True,
        leave=False,
    )

    def progress(done: int, total: int) -> None:
        bar.update(done - bar.n)

    try:
        ens = run_ensemble(sc, n_runs, seed=seed, workers=workers, rounds=rounds, progress=progress)
    except ValueError as e:
        fail(f"{scenario}: {e}")
    except (KeyboardInterrupt, EnsembleCancelled):
        bar.close()
        click.echo("bloc ensemble: interrupted; nothing written", err=True)
        sys.exit(130)
    finally:
        bar.close()
    if out_dir is not None:
        write_ensemble(ens, out_dir, fmt, run_meta(sc, seed, ens.n_rounds))
    if not quiet:
        click.echo(ens.text())
        replay = ["bloc", "run", scenario, "--seed", str(int(ens.runs["seed"].iloc[0]))]
        if rounds is not None:
            replay += ["--rounds", str(rounds)]
        for s in sets:
            replay += ["--set", s]
        click.echo(f"\nReplay one run alone, e.g. run 0: {shlex.join(replay)}")
        if out_dir is not None:
            click.echo(f"Wrote runs.{fmt}, rounds.{fmt} and meta.json to {out_dir}")


@main.group(invoke_without_command=True)
@click.pass_context
def scenarios(ctx: click.Context) -> None:
    """List the built-in scenarios (names and summaries)."""
    if ctx.invoked_subcommand is not None:
        return
    from negotiation.engine.scenario import load_scenario, scenario_names

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
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="PATH=VALUE",
    help="Override a value before printing, as for `bloc run` (repeatable).",
)
def scenarios_show(scenario: str, sets: tuple[str, ...]) -> None:
    """Print the fully resolved TOML of SCENARIO (a name or a file; extends and --set applied).

    Saved to a file, it runs exactly like SCENARIO: `bloc run FILE`."""
    from negotiation.engine.scenario import find_scenario_file, load_scenario, scenario_to_toml

    try:
        sc = load_scenario(scenario, parse_sets(sets))
        source = find_scenario_file(scenario)
    except ScenarioError as e:
        fail(*e.problems)
    applied = "".join(f" --set {s}" for s in sets)
    click.echo(f"# {sc.meta.title}\n# Fully resolved from {source.name}{applied}: every value")
    click.echo("# explicit, `extends` merged. `bloc run` on this file gives the same run.\n")
    click.echo(scenario_to_toml(sc), nl=False)


@main.command()
@click.argument("files", nargs=-1, required=True)
def validate(files: tuple[str, ...]) -> None:
    """Validate scenario FILES; one line per problem, exit code 2 if any is invalid."""
    from negotiation.engine.scenario import load_scenario

    problems: list[str] = []
    for f in files:
        try:
            sc = load_scenario(f)
        except ScenarioError as e:
            problems.extend(e.problems)
            continue
        try:
            from negotiation.engine.model import BlocModel

            BlocModel(sc, rounds=1, rng=0)
        except ValueError as e:
            problems.append(f"{f}: {e}")
            continue
        click.echo(f"{f}: ok ({sc.meta.title})")
    if problems:
        fail(*problems)


# --- bloc app (the web app) -------------------------------------------------------------------


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=int, default=8765, show_default=True, help="Port to listen on.")
def app(host: str, port: int) -> None:
    """Serve the web app (Solara, production mode, no telemetry, works offline)."""
    import os

    if not 0 <= port <= 65535:
        fail(f"--port must be between 0 and 65535 (got {port})")
    # Solara reads this when it is imported, in the server process exec'd below
    os.environ["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] = "False"
    os.environ.setdefault("SOLARA_THEME_SHOW_BANNER", "False")  # no "runs on Solara" overlay
    os.environ.setdefault("SOLARA_THEME_TITLE", "Bloc")
    os.environ.setdefault("BLOC_APP_WARM_UP", "1")  # the server plays a round as it starts
    cmd = [sys.executable, "-m", "solara", "run", "negotiation.ui.app_server", "--production"]
    cmd += ["--no-open"]
    cmd += ["--host", host, "--port", str(port)]
    click.echo(f"bloc app: serving on http://{host}:{port}/ (Ctrl-C to stop)", err=True)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, cmd)


# --- bloc workshop (rooms for participants) ----------------------------------------------------


@main.command()
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; 0.0.0.0 lets participants on the venue's network connect.",
)
@click.option("--port", type=int, default=8766, show_default=True, help="Port to listen on.")
@click.option(
    "--scenario",
    default=DEFAULT_SCENARIO,
    show_default=True,
    help="The scenario new rooms start on (a built-in name or a TOML file).",
)
@click.option(
    "--facilitator-secret",
    envvar="BLOC_FACILITATOR_SECRET",
    default="",
    show_envvar=True,
    help="What a facilitator types on the home page to create a room (12 characters or more); "
    "without it, the server draws one and prints it here.",
)
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="BLOC_WORKSHOP_STATE_DIR",
    default=None,
    show_envvar=True,
    help="Where each room is saved as it changes (room-CODE.json, readable by you only: it "
    "holds the room's private links). Default: bloc/workshop in your data directory "
    "(~/.local/share/bloc/workshop on Linux).",
)
@click.option(
    "--resume",
    is_flag=True,
    help="Bring back the rooms saved in the state directory (after a crash or a restart): the "
    "same codes, links, seats and round.",
)
def workshop(
    host: str,
    port: int,
    scenario: str,
    facilitator_secret: str,
    state_dir: Path | None,
    resume: bool,
) -> None:
    """Serve workshop rooms: a facilitator, participants on their own devices, a projector."""
    import os
    import secrets

    from negotiation.engine.scenario import load_scenario
    from negotiation.rooms.workshop import MIN_SECRET, Workshop, default_state_dir, public_url

    if not 0 <= port <= 65535:
        fail(f"--port must be between 0 and 65535 (got {port})")
    if facilitator_secret and len(facilitator_secret) < MIN_SECRET:
        fail(f"--facilitator-secret must have at least {MIN_SECRET} characters")
    try:
        load_scenario(scenario)
    except ScenarioError as e:
        fail(*e.problems)
    state_dir = (state_dir or default_state_dir()).expanduser().absolute()
    if state_dir.exists() and not state_dir.is_dir():
        fail(f"--state-dir {state_dir} is not a directory")
    if resume and not state_dir.is_dir():
        fail(f"--resume: there is no state directory {state_dir} (give --state-dir)")
    url = public_url(host, port)
    os.environ["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] = "False"  # read when solara is imported
    os.environ.setdefault("SOLARA_THEME_SHOW_BANNER", "False")
    os.environ.setdefault("SOLARA_THEME_TITLE", "Bloc workshop")
    os.environ["BLOC_WORKSHOP_URL"] = url
    os.environ["BLOC_WORKSHOP_SCENARIO"] = scenario
    os.environ["BLOC_FACILITATOR_SECRET"] = facilitator_secret or secrets.token_urlsafe(16)
    os.environ["BLOC_WORKSHOP_STATE_DIR"] = str(state_dir)
    os.environ["BLOC_WORKSHOP_RESUME"] = "1" if resume else ""
    os.environ.setdefault("BLOC_APP_WARM_UP", "1")  # the server plays a round as it starts
    cmd = [sys.executable, "-m", "solara", "run", "negotiation.ui.workshop_app", "--production"]
    cmd += ["--no-open", "--host", host, "--port", str(port)]
    click.echo(f"bloc workshop: serving on http://{host}:{port}/ (Ctrl-C to stop)", err=True)
    click.echo(f"bloc workshop: participants open {url}/ and type the room's code", err=True)
    if facilitator_secret:  # the operator's own: not echoed
        click.echo("bloc workshop: facilitator secret: the one you set", err=True)
    else:
        click.echo(
            f"bloc workshop: facilitator secret (type it to create a room): "
            f"{os.environ['BLOC_FACILITATOR_SECRET']}",
            err=True,
        )
    click.echo("bloc workshop: each room's facilitator link is printed here too", err=True)
    click.echo(f"bloc workshop: rooms are saved in {state_dir} (readable by you only)", err=True)
    saved = len(Workshop(ticker=False, state_dir=state_dir).saved_files())
    if resume:
        click.echo(f"bloc workshop: resuming the {saved} saved room(s) there", err=True)
    elif saved:
        click.echo(
            f"bloc workshop: {saved} saved room(s) there are not resumed: start with --resume "
            "to bring them back",
            err=True,
        )
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, cmd)


# --- bloc sweep (experiments) ------------------------------------------------------------------


class _SweepGroup(click.Group):
    """`bloc sweep SPEC ...` is `bloc sweep run SPEC ...`; `bloc sweep report DIR` is not."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = ["run", *args]
        return super().parse_args(ctx, args)


@main.group(cls=_SweepGroup)
def sweep() -> None:
    """Experiments: `bloc sweep SPEC --out DIR`, then `bloc sweep report DIR`."""


@sweep.command("run")
@click.argument("spec", type=click.Path(path_type=Path))
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    required=True,
    help="Folder for the Parquet tables and metadata.json.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Local processes (default: one per CPU; 1 runs in this process).",
)
@click.option(
    "--scheduler",
    metavar="ADDRESS",
    default=None,
    help="Run on a Dask cluster: its scheduler's address, e.g. tcp://host:8786.",
)
@click.option(
    "--resume",
    is_flag=True,
    help="Continue the sweep in --out: run the missing runs. SPEC may extend the sweep's spec "
    "(more replications, grid values, a larger Sobol base): only the new runs run.",
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=None,
    help="Runs per task (default: about a second of work).",
)
@click.option(
    "--connect-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=10.0,
    show_default=True,
    help="Seconds to wait for the Dask scheduler and its workers, at the start and whenever "
    "every worker has left.",
)
@click.option("--flush-seconds", type=float, default=5.0, hidden=True)
@click.option("--quiet", is_flag=True, help="No progress bar and no summary.")
def sweep_run(
    spec: Path,
    out_dir: Path,
    workers: int | None,
    scheduler: str | None,
    resume: bool,
    batch_size: int | None,
    connect_timeout: float,
    flush_seconds: float,
    quiet: bool,
) -> None:
    """Run the experiment in the spec file SPEC.

    Exit code: 0 if every run succeeded; 2 for bad input (nothing ran); otherwise 2 + the number
    of failed runs (at most 125); 130 after Ctrl-C and 143 after SIGTERM, which write what
    finished, stop every process of the sweep and print the command that resumes; 1 if a worker
    process died or the Dask cluster was lost (what finished is kept: resume)."""
    from negotiation.experiments import sweep as sw

    try:
        summary = sw.run_sweep(
            spec,
            out_dir,
            workers=workers,
            scheduler=scheduler,
            resume=resume,
            batch_size=batch_size,
            progress=not quiet,
            connect_timeout=connect_timeout,
            flush_seconds=flush_seconds,
        )
    except ScenarioError as e:
        fail(*e.problems)
    except (sw.SweepInterrupted, sw.SweepCrashed) as e:
        click.echo(f"bloc sweep: {e}", err=True)
        click.echo(f"resume with: {sw.resume_command(spec, out_dir, workers, scheduler)}", err=True)
        code = e.exit_code if isinstance(e, sw.SweepInterrupted) else sw.EXIT_CRASHED
        if getattr(e, "pool_aborted", False):
            # The pool's workers were killed: Python would join its manager thread at exit,
            # which a worker killed while sending a result leaves reading for ever. Everything
            # is written: end here.
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
        sys.exit(code)
    if not quiet:
        click.echo(summary.text())
    sys.exit(sw.exit_code(summary))


@sweep.command("report")
@click.argument("sweep_dir", type=click.Path(path_type=Path))
@click.option(
    "--out",
    "out_file",
    type=click.Path(path_type=Path),
    default=None,
    help="The HTML file (default: DIR/report.html).",
)
@click.option(
    "--metric",
    "metrics",
    multiple=True,
    help="A metric to plot (repeatable; default: the spec's own metrics, then a few "
    "per-mineral ones).",
)
@click.option(
    "--heatmap",
    metavar="X,Y",
    default=None,
    help="The heatmap's two parameters (default: the spec's [report] heatmap, else the first two).",
)
@click.option(
    "--per-mineral",
    type=click.IntRange(min=0),
    default=None,
    help="How many per-mineral metric columns (mean_world_price_*, supplier_share_*) to add "
    "to the default metrics (default: the spec's [report] per_mineral, else 3).",
)
@click.option(
    "--group",
    metavar="PARAMETER",
    default=None,
    help="Group the distributions and envelopes by this parameter (default: the spec's "
    "[report] group, else each metric's most influential parameter by feature score).",
)
@click.option(
    "--series",
    "series",
    multiple=True,
    metavar="COLUMN",
    help="A rounds column to draw as an envelope over the rounds, besides the metrics' own "
    "(repeatable; needs a rounds table).",
)
def sweep_report(
    sweep_dir: Path,
    out_file: Path | None,
    metrics: tuple[str, ...],
    heatmap: str | None,
    per_mineral: int | None,
    group: str | None,
    series: tuple[str, ...],
) -> None:
    """Write an HTML report of the sweep in SWEEP_DIR.

    Heatmap, main effects, coalitions, Sobol indices for a Sobol design, Morris mu* and sigma
    for a Morris design, sensitivity (PRCC, SRC) for a Latin hypercube, feature scores (extra
    trees), distributions across runs, envelopes over the rounds (with a rounds table), which
    settings make the bloc hold (PRIM, CART); one file, no internet needed."""
    from negotiation.experiments.sweep_report import write_report

    axes = [a.strip() for a in heatmap.split(",")] if heatmap else None
    try:
        path = write_report(
            sweep_dir, out_file, metrics=list(metrics), heatmap=axes, per_mineral=per_mineral,
            group=group, series=list(series),
        )  # fmt: skip
    except ScenarioError as e:
        fail(*e.problems)
    click.echo(f"Wrote {path}")


# --- bloc check (validation against theory and history) ----------------------------------------


@main.command()
@click.option("--only", "only", multiple=True, metavar="NAME",
              help="Run only this check (repeatable); a prefix runs several.")  # fmt: skip
@click.option("--fast", is_flag=True, help="Smaller grids: a quick look (also BLOC_FAST=1).")
def check(only: tuple[str, ...], fast: bool) -> None:
    """Check the model against theory and history: for each check, the literature's statement,
    the model's figure, PASS or FAIL. Exit code 0 if every check passes, 1 if any fails."""
    from negotiation.experiments import validation

    try:
        names = validation.select(only)
    except ValueError as e:
        fail(str(e))
    failed = []
    for name in names:
        result = validation.run_check(name, fast=fast or None)
        click.echo(result.text() + "\n")
        if not result.passed:
            failed.append(name)
    summary = f"{len(names) - len(failed)} of {len(names)} checks passed"
    click.echo(summary + (f"; failed: {', '.join(failed)}" if failed else ""))
    sys.exit(1 if failed else 0)


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
