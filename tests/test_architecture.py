"""The layering as a contract (pyproject.toml, [tool.importlinter]), checked by import-linter: no
module imports one of a layer above it, deferred imports included."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT = Path(sys.executable).parent / "lint-imports"


def lint(config: Path | None = None) -> subprocess.CompletedProcess:
    args = [str(LINT), "--no-cache"] + (["--config", str(config)] if config else [])
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_every_layer_contract_is_kept():
    done = lint()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_a_deferred_upward_import_is_caught(tmp_path):
    """The scenario loader imports the strategy registry inside a function (to check strategy
    names); a contract forbidding it must see that import and fail."""
    config = tmp_path / "contract.ini"
    config.write_text(
        "[importlinter]\nroot_packages =\n    negotiation\n    agents\n\n"
        "[importlinter:contract:probe]\nname = probe\ntype = forbidden\n"
        "source_modules =\n    negotiation.scenario\nforbidden_modules =\n    agents\n"
    )
    done = lint(config)
    assert done.returncode != 0
    assert "negotiation.scenario -> agents" in done.stdout
