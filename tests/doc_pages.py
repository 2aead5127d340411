"""The documentation the tests read: the README and every Markdown page of the site (docs/, as
mkdocs.yml builds it). Tests that run the documented commands and examples collect them from all
of these, so a command moved from one page to another is still run."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"


def site_pages() -> list[Path]:
    """Every Markdown file the site is built from (mkdocs builds every one under docs/)."""
    return sorted(DOCS.rglob("*.md"))


def documents() -> list[Path]:
    """The README first, then the site's pages."""
    return [README, *site_pages()]


def page(relative: str) -> str:
    """The text of one page of the site, by its path under docs/ (fails if it is not there)."""
    return (DOCS / relative).read_text()


def code_blocks(language: str, paths: list[Path] | None = None) -> list[str]:
    """The ```language blocks of the documents, in order (a page's blocks in the page's order)."""
    blocks: list[str] = []
    for path in documents() if paths is None else paths:
        blocks += re.findall(rf"```{language}\n(.*?)```", path.read_text(), flags=re.S)
    return blocks
