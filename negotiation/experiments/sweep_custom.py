"""Custom sweep metrics: Python functions named in a spec as `module:function`.

    [custom_metrics]                          # column = "module:function"
    hold_share = "my_metrics:hold_share"      # my_metrics.py beside the spec, or importable
    cost_bn = { function = "my_metrics:cost_bn", unit = "USD bn/yr", dtype = "float" }

The function is called once per run with the finished `BlocModel` (its `rounds_df`, `actors_df`,
`events_df`, `config`: the scenario, ...) and returns one value: a number, true/false, text, or
None (an empty cell). The module is looked up in the spec's folder first, then on the Python path (a
Dask worker needs it importable too). `load_spec` imports it, checks the function exists and
calls it on a probe model (the scenario after one round) to learn the column's type, unless the
spec gives `dtype`; every problem is one line naming the file, `custom_metrics.NAME` and what
was wrong. In a run, a value of another type fails that run (a row with status "failed" and
the reason), never the sweep.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import math
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

#: Spec `dtype` names -> the column's Arrow type name (as `Metric.dtype`).
DTYPES = {"float": "float64", "int": "int64", "bool": "bool", "string": "string"}
_NAMES = {"float64": "a number", "int64": "an integer", "bool": "true/false", "string": "text"}

_FUNCTIONS: dict[tuple[str, tuple[str, ...]], Callable[[Any], Any]] = {}


class CustomMetricError(Exception):
    """Why a custom metric cannot be used (one line, without the file and field)."""


def _on_path(paths: Sequence[str]) -> None:
    for p in reversed(paths):
        if p not in sys.path:
            sys.path.insert(0, p)


def resolve(ref: str, paths: Sequence[str] = ()) -> Callable[[Any], Any]:
    """The function `module:function` names, importing the module (with `paths` first on the
    Python path), or CustomMetricError saying what was wrong."""
    key = (ref, tuple(paths))
    fn = _FUNCTIONS.get(key)
    if fn is not None:
        return fn
    module_name, _, name = ref.partition(":")
    _on_path(paths)
    where = " or ".join([*paths, "the Python path"])
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        missing = e.name or ""
        if missing and (module_name == missing or module_name.startswith(missing + ".")):
            raise CustomMetricError(
                f"no module named {module_name!r} (looked in {where}): put {module_name}.py "
                "beside the spec, or install it"
            ) from None
        raise CustomMetricError(f"importing {module_name} failed: {_brief(e)}") from None
    except Exception as e:  # a module that raises on import (SyntaxError too)
        raise CustomMetricError(f"importing {module_name} failed: {_brief(e)}") from None
    if not hasattr(module, name):
        from negotiation.engine.scenario import did_you_mean

        functions = [n for n, v in vars(module).items() if callable(v) and not n.startswith("_")]
        raise CustomMetricError(
            f"module {module_name} ({_file(module)}) has no function {name!r}"
            + did_you_mean(name, functions)
            + (f"; it has {', '.join(sorted(functions))}" if functions else "")
        )
    fn = getattr(module, name)
    if not callable(fn):
        raise CustomMetricError(f"{ref} is {type(fn).__name__}, not a function")
    _FUNCTIONS[key] = fn
    return fn


def _file(module: Any) -> str:
    return str(getattr(module, "__file__", None) or "built in")


def _brief(e: BaseException) -> str:
    from negotiation.experiments.sweep_spec import one_line

    return one_line(e)


def source_info(ref: str, paths: Sequence[str] = ()) -> dict[str, Any]:
    """Provenance of a resolved function: its module's file and the file's SHA-256."""
    fn = resolve(ref, paths)
    try:
        path = Path(inspect.getsourcefile(fn) or "")
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
    except (TypeError, OSError):
        path, digest = Path(""), None
    return {"function": ref, "file": str(path) if digest else None, "sha256": digest}


def dtype_of(value: Any) -> str | None:
    """The column type of a probe value: float64, int64, bool, string; None for None; raises
    CustomMetricError for anything else."""
    value = _native(value)
    if value is None:
        return None
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int64"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    raise CustomMetricError(
        f"returned {type(value).__name__} {_short(value)}; a metric is one value: a number, "
        "true/false, text, or None"
    )


def _native(value: Any) -> Any:
    return value.item() if hasattr(value, "item") and not isinstance(value, str) else value


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def coerce(value: Any, dtype: str) -> Any:
    """A run's value in its column's type (None stays empty), or CustomMetricError."""
    value = _native(value)
    if value is None:
        return None
    ok: Any = None
    if dtype == "float64" and isinstance(value, int | float) and not isinstance(value, bool):
        ok = float(value)
    elif dtype == "int64" and isinstance(value, int) and not isinstance(value, bool):
        ok = value
    elif dtype == "int64" and isinstance(value, float) and value.is_integer():
        ok = int(value)
    elif dtype == "int64" and isinstance(value, float) and math.isnan(value):
        return None
    elif (dtype == "bool" and isinstance(value, bool)) or (
        dtype == "string" and isinstance(value, str)
    ):
        ok = value
    if ok is None:
        raise CustomMetricError(
            f"returned {type(value).__name__} {_short(value)}; its column holds "
            f"{_NAMES.get(dtype, dtype)}"
        )
    return ok


def compute(metrics: Sequence[Any], model: Any, paths: Sequence[str] = ()) -> dict[str, Any]:
    """The custom metrics (`Metric`s with stat "custom"; `column` is "module:function") of a
    finished model. Raises CustomMetricError naming the metric if one fails."""
    out: dict[str, Any] = {}
    for m in metrics:
        if m.stat != "custom":
            continue
        try:
            out[m.name] = coerce(resolve(m.column, paths)(model), m.dtype)
        except CustomMetricError as e:
            raise CustomMetricError(f"custom metric {m.name} ({m.column}) {e}") from None
        except Exception as e:
            raise CustomMetricError(
                f"custom metric {m.name} ({m.column}) raised {_brief(e)}"
            ) from None
    return out


def probe(
    entries: Mapping[str, Any], model: Any, paths: Sequence[str]
) -> tuple[dict[str, str], list[str]]:
    """Check the spec's custom metrics on a probe model: {name: dtype} and one line per problem
    (`custom_metrics.NAME: ...`). `entries` are the spec's `CustomMetricSpec`s."""
    dtypes: dict[str, str] = {}
    problems: list[str] = []
    for name, entry in entries.items():
        where = f"custom_metrics.{name}"
        try:
            fn = resolve(entry.function, paths)
        except CustomMetricError as e:
            problems.append(f"{where}: {e}")
            continue
        try:
            value = fn(model)
        except Exception as e:
            problems.append(
                f"{where}: {entry.function} raised on a probe model (the scenario after one "
                f"round): {_brief(e)}"
            )
            continue
        try:
            found = dtype_of(value)
            if entry.dtype is not None:
                dtypes[name] = DTYPES[entry.dtype]
                coerce(value, dtypes[name])
            elif found is None:
                problems.append(
                    f"{where}: {entry.function} returned None on a probe model (the scenario "
                    "after one round), so its type is unknown: give it, as "
                    f'{name} = {{ function = "{entry.function}", dtype = "float" }} '
                    "(or int, bool, string)"
                )
            else:
                dtypes[name] = found
        except CustomMetricError as e:
            problems.append(f"{where}: {entry.function} {e} (on a probe model)")
    return dtypes, problems
