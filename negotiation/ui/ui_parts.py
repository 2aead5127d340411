"""Solara components both front ends use: the web app (`negotiation.ui.app`) and workshop mode
(`negotiation.ui.workshop_app`). Neither front end imports the other's pages: what they share
lives here or in the app_* modules below them (charts, state, texts), and the server of
`bloc app`, which serves pages of both, is `negotiation.ui.app_server`."""

from __future__ import annotations

from collections.abc import Callable

import solara


@solara.component
def Download(label: str, filename: str, make: Callable[[], bytes | str], mime: str, cls: str):
    """A download button whose content is made on click from the latest state (the callable
    keeps one identity, so a re-render while playing does not cancel a download)."""
    ref = solara.use_ref(make)
    ref.current = make
    data = solara.use_memo(lambda: lambda: ref.current(), [])
    with solara.FileDownload(data, filename=filename, mime_type=mime):
        solara.Button(
            label,
            icon_name="mdi-download",
            outlined=True,
            classes=[cls],
            style={"margin": "2px 6px 2px 0"},
        )
