"""Finding and typing into the web app's widgets in a page rendered in-process."""

from __future__ import annotations

import ipyvuetify as v
import ipywidgets


def the_widget(rc, kind: type, cls: str):
    """The one widget of type `kind` that has CSS class `cls` among its classes."""
    root = rc.find(v.Html, class_="bloc-app").widget
    (w,) = [
        x
        for x in all_widgets(root)
        if isinstance(x, kind) and cls in str(getattr(x, "class_", "") or "").split()
    ]
    return w


def type_in(rc, cls: str, text: str) -> v.TextField:
    """Type `text` in the field of CSS class `cls` and press Enter, as a browser tells it: the
    field's input event, its v_model, then the key."""
    field = the_widget(rc, v.TextField, cls)
    field.fire_event("input", text)
    field.v_model = text
    field.fire_event("keyup.enter", None)
    return field


def all_widgets(widget):
    """A widget and every widget inside it (`rc.find` stops at a match: it would not look for
    an Html inside an Html)."""
    yield widget
    for child in getattr(widget, "children", None) or []:
        if isinstance(child, ipywidgets.Widget):
            yield from all_widgets(child)
