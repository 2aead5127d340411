"""The documentation site (mkdocs.yml, pages in docs/) builds with --strict (a broken link, a
missing anchor, a page left out of the nav or a docstring mkdocstrings cannot read fails it),
its generated pages hold what the code has, it loads nothing from the internet, and
`scripts/docs` serves it."""

from __future__ import annotations

import ast
import html
import os
import re
import subprocess
import sys
import tomllib

import click
import pytest
from pydantic import BaseModel

from negotiation.cli import main
from tests.doc_pages import ROOT, page, site_pages


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    cmd = [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)]
    r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-4000:]
    return out


def text_of(site, path: str) -> str:
    """The words of a built page's article (tags dropped, entities decoded, spaces collapsed)."""
    body = (site / path / "index.html").read_text().split("<article", 1)[1]
    body = body.split("</article>", 1)[0]
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def test_every_page_is_built(site):
    for md in site_pages():
        rel = md.relative_to(ROOT / "docs").with_suffix("")
        built = site / (rel.parent if rel.name == "index" else rel) / "index.html"
        assert built.is_file(), f"{md} was not built"


def test_the_site_loads_nothing_from_the_internet(site):
    """Offline: no Google Fonts (theme font: false), no script or style from a CDN."""
    for path in site.rglob("*.html"):
        text = path.read_text()
        assert "fonts.googleapis.com" not in text and "fonts.gstatic.com" not in text, path
        for tag in re.findall(r"<(?:script|link)\b[^>]*>", text):
            assert not re.search(r"(src|href)=\"(https?:)?//", tag) or "canonical" in tag, (
                f"{path.relative_to(site)}: {tag}"
            )


def test_the_command_line_page_has_every_command_and_option(site):
    text = text_of(site, "ref/cli")

    def walk(path: str, cmd: click.Command) -> None:
        assert path in text, path
        for p in cmd.params:
            if isinstance(p, click.Option) and not p.hidden:
                for opt in p.opts:
                    assert opt in text, f"{path} {opt}"
                if p.help:
                    assert " ".join(p.help.split())[:30] in text, f"{path} {p.opts[0]}: help"
        for name, sub in getattr(cmd, "commands", {}).items():
            if not sub.hidden:
                walk(f"{path} {name}", sub)

    walk("bloc", main)
    assert "bloc sweep report" in text and "--per-mineral" in text


def _models(model: type[BaseModel], seen: list) -> list[type[BaseModel]]:
    """The model and every model its fields hold (directly, in a dict, tuple or list)."""
    import typing

    if model in seen:
        return seen
    seen.append(model)
    for field in model.model_fields.values():
        stack = [field.annotation]
        while stack:
            t = stack.pop()
            if isinstance(t, type) and issubclass(t, BaseModel):
                _models(t, seen)
            stack.extend(typing.get_args(t))
    return seen


@pytest.mark.parametrize(
    ("path", "root"),
    [
        ("ref/scenario-format", "negotiation.engine.scenario:Scenario"),
        ("ref/sweep-format", "negotiation.experiments.sweep_spec:SweepSpec"),
    ],
)
def test_the_file_format_pages_have_every_key(site, path, root):
    import importlib

    module, _, name = root.partition(":")
    text = text_of(site, path)
    built = (site / path / "index.html").read_text()
    for model in _models(getattr(importlib.import_module(module), name), []):
        for key, field in model.model_fields.items():
            assert f"<code>{field.alias or key}</code>" in built, f"{model.__name__}.{key}"
            if field.description:
                words = " ".join(field.description.replace("`", "").split())
                assert words in text, f"{model.__name__}.{key}"


def test_the_scenario_format_page_gives_types_defaults_and_bounds(site):
    text = text_of(site, "ref/scenario-format")
    # [policy] outsider_penalty: a number, 0.05 by default, from 0 to 2
    assert re.search(r"outsider_penalty number 0\.05 ≥ 0, ≤ 2 margin on non-member supply", text)
    assert "[minerals.ID]" in text and "[[agenda.tracks]]" in text and "[[levers]]" in text
    assert re.search(r'instrument one of "border" ?, "price_gap" ?, "stockpile" "border"', text)
    sweep = text_of(site, "ref/sweep-format")
    assert re.search(r"replications integer 1 ≥ 1", sweep) and '[parameters."PATH"]' in sweep


def test_the_python_api_page_documents_the_public_names(site):
    import negotiation

    text = text_of(site, "ref/python-api")
    for name in negotiation.__all__:
        assert f"{negotiation._LAZY[name]}.{name}" in text, name
    assert "set_levers" in text  # a method of BlocModel, from its docstring
    assert "Change live levers; they act from the next round" in text
    assert "negotiation.experiments.ensemble.run_ensemble" in text


def test_the_kernels_page_lists_every_function_of_the_kernels(site):
    """Generated from negotiation/engine/_kernels.py, private functions included: what docs/ODD.md's
    Submodel B refers to by name."""
    text = text_of(site, "ref/kernels")
    tree = ast.parse((ROOT / "negotiation" / "engine" / "_kernels.py").read_text())
    names = [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]
    assert {"clear_kernel", "find_prices", "_root", "_bracketed", "_twin"} <= set(names)
    for name in names:
        assert re.search(rf"(?<![\w.]){re.escape(name)} ¶", text), name


def test_the_architecture_page_has_every_contract_and_module(site):
    text = text_of(site, "explanation/architecture")
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    for contract in config["contracts"]:
        assert contract["name"] in text, contract["name"]
    diagram = page("explanation/architecture.md").split("```text", 1)[1].split("```", 1)[0]
    for path in sorted((ROOT / "negotiation").rglob("*.py")) + sorted(
        (ROOT / "agents").glob("*.py")
    ):
        if path.stem != "__init__":
            assert re.search(rf"(?<![\w/]){path.stem}(?!\w)", diagram), (
                f"{path.relative_to(ROOT)} is in no layer of the architecture diagram"
            )


@pytest.mark.slow
def test_scripts_docs_serves_the_site(tmp_path):
    """`scripts/docs --dev-addr HOST:PORT` sets up (a no-op when done) and serves the site."""
    from tests.browser_support import fetch_when_up, free_port, stop_app_server

    port = free_port()
    log = (tmp_path / "docs.log").open("w")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    proc = subprocess.Popen([str(ROOT / "scripts" / "docs"), "--dev-addr", f"127.0.0.1:{port}"],
                            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env,
                            start_new_session=True)  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}/ref/cli/"
        page = fetch_when_up(url, proc, timeout=180, log=tmp_path / "docs.log")
        assert "bloc sweep report" in page
    finally:
        stop_app_server(proc, timeout=15)
        log.close()
