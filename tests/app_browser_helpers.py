"""Driving the Bloc web app in a real browser (Playwright): shared by the browser tests and
benchmarks/bench_app.py. Every helper acts as a person would: clicks, typing, keys."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

ROUND_JS = "() => Number(document.querySelector('.bloc-members')?.dataset.round ?? -1)"


def open_app(page: Any, url: str | None, timeout: float = 60_000) -> None:
    """Open the app at `url` and wait until it is drawn (`url` None: the page is on its way
    there already)."""
    if url is not None:
        page.goto(url)
    page.locator(".bloc-step").wait_for(timeout=timeout)
    page.locator(".bloc-members").wait_for(timeout=timeout)


def current_round(page: Any) -> int:
    return int(page.evaluate(ROUND_JS))


def members(page: Any) -> list[str]:
    """The countries the page shows in the bloc (ids, from the header)."""
    text = page.locator(".bloc-members").get_attribute("data-members") or ""
    return [a for a in text.split("+") if a]


def wait_round(page: Any, r: int, timeout: float = 30_000) -> None:
    page.wait_for_function(f"() => ({ROUND_JS})() === {r}", timeout=timeout)


def step(page: Any, n: int = 1) -> None:
    for _ in range(n):
        r = current_round(page)
        page.locator(".bloc-step").click()
        wait_round(page, r + 1)


def reset(page: Any) -> None:
    page.locator(".bloc-reset").click()
    wait_round(page, 0)


def slider_value(page: Any, cls: str) -> float:
    return float(page.locator(f".{cls} input").first.get_attribute("value"))


def set_slider(page: Any, cls: str, value: float, lo: float, hi: float, step_: float) -> None:
    """Click the slider's track where `value` lies, then nudge it with the arrow keys."""
    track = page.locator(f".{cls} .v-slider").first
    box = track.bounding_box()
    x = box["x"] + box["width"] * (value - lo) / (hi - lo)
    page.mouse.click(x, box["y"] + box["height"] / 2)
    thumb = page.locator(f".{cls} [role=slider]").first
    for _ in range(50):
        now = slider_value(page, cls)
        if abs(now - value) < step_ / 2:
            break
        thumb.focus()
        page.keyboard.press("ArrowRight" if now < value else "ArrowLeft")
    page.wait_for_function(
        f"() => Math.abs(Number(document.querySelector('.{cls} input').value) - {value}) < "
        f"{step_ / 2}"
    )
    # and the server has taken it: the number field beside the slider is drawn by the server
    # from the lever in force (a Step clicked before that would play the round without it)
    page.wait_for_function(
        f"""() => {{
            const field = document.querySelector('.{cls}-number input');
            const taken = Number(field?.value.replace(/,/g, ''));
            return !field || Math.abs(taken - {value}) < {step_ / 2};
        }}"""
    )


def set_speed(page: Any, fastest: bool = True) -> None:
    page.locator(".bloc-speed [role=slider]").focus()
    page.keyboard.press("End" if fastest else "Home")


def type_floor(page: Any, mineral: str, value: int) -> None:
    field = page.locator(f".lever-floor-{mineral} input")
    field.fill(str(value))
    field.press("Enter")


def type_into(page: Any, cls: str, text: str) -> None:
    """Type `text` in the number field of CSS class `cls` and press Enter."""
    field = page.locator(f".{cls} input")
    field.fill(text)
    field.press("Enter")


def field_message(page: Any, cls: str) -> str:
    """The message under the field of CSS class `cls` ("" if none)."""
    found = page.locator(f".{cls} .v-messages__message")
    return found.first.inner_text() if found.count() else ""


def wait_field(page: Any, cls: str, value: str, timeout: float = 10_000) -> None:
    """Wait until the field of CSS class `cls` shows `value`."""
    page.wait_for_function(
        f"() => document.querySelector('.{cls} input')?.value === {value!r}", timeout=timeout
    )


def choose(page: Any, cls: str, option: str, attempts: int = 3) -> None:
    """Pick `option` in the Vuetify select inside `.cls`. A select the server redraws while its
    menu opens (a round's render landing just then) loses the menu: the menu is opened again,
    up to `attempts` times (seen once under load in CI: the option never showed)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    menu = page.locator(
        ".menuable__content__active .v-list-item", has_text=re.compile(f"^{option}$")
    )
    for attempt in range(attempts):
        page.locator(f".{cls} .v-select__slot").click()
        try:
            menu.first.wait_for(state="visible", timeout=10_000)
        except PlaywrightTimeout:
            if attempt == attempts - 1:
                raise
            page.keyboard.press("Escape")  # close whatever opened, and open it again
            continue
        menu.first.click()
        break
    page.locator(".menuable__content__active").wait_for(state="detached")


def toggle(page: Any, cls: str, option: str) -> None:
    """Tick or untick `option` in the Vuetify multiple select inside `.cls` (its menu stays
    open after a click: closed with Escape), and wait for the server to redraw the field."""
    field = page.locator(f".{cls} .v-select__selections")
    before = field.inner_text()
    page.locator(f".{cls} .v-select__slot").click()
    item = page.locator(
        ".menuable__content__active .v-list-item", has_text=re.compile(f"^{option}$")
    )
    item.first.wait_for(state="visible", timeout=10_000)
    item.first.click()
    page.keyboard.press("Escape")
    page.wait_for_function(
        "([sel, before]) => document.querySelector(sel)?.innerText !== before",
        arg=[f".{cls} .v-select__selections", before],
    )


def open_tab(page: Any, name: str) -> None:
    page.get_by_role("tab", name=name).click()


def wait_consistent(page: Any, timeout: float = 15_000) -> None:
    """Wait until every view of the Bloc tab shows the header's round."""
    page.wait_for_function(
        """() => {
            const r = document.querySelector('.bloc-members')?.dataset.round;
            const views = ['.network-view svg', '.timeline-view svg', '.status-view table'];
            return views.every(v => document.querySelector(v)?.dataset.round === r);
        }""",
        timeout=timeout,
    )


def play_to_end(page: Any, timeout: float = 240_000) -> None:
    """Fastest speed, Play, and wait for the last round and the Play button to come back."""
    set_speed(page, fastest=True)
    page.locator(".bloc-play").click()
    last = int(page.locator(".bloc-round").inner_text().split(" of ")[1])
    wait_round(page, last, timeout=timeout)
    page.locator(".bloc-play", has_text=re.compile("play", re.IGNORECASE)).wait_for()


def download(page: Any, cls: str, folder: Path) -> Path:
    """Click a download button and save the file in `folder` under its suggested name."""
    with page.expect_download() as info:
        page.locator(f".{cls}").click()
    d = info.value
    path = folder / d.suggested_filename
    d.save_as(path)
    return path


# Every chart on screen in one look at the DOM (a tab's views can go between two looks):
# [kind, width, height, things drawn, "nan" in it]
CHARTS_JS = """
() => Array.from(document.querySelectorAll(
        '.bloc-main svg.bloc-chart, .network-view svg, .timeline-view svg, .bloc-main img'))
    .map(el => {
        const box = el.getBoundingClientRect();
        const drawn = el.tagName === 'IMG'
            ? (el.complete ? el.naturalWidth : -1)
            : el.querySelectorAll('polyline, circle, rect').length;
        return [el.getAttribute('class') || el.tagName, box.width, box.height, drawn,
                /\\bnan\\b/i.test(el.outerHTML)];
    })
"""


def charts_ok(page: Any) -> list[str]:
    """Problems with the charts on screen (the network, the timeline, the live SVG charts and
    any image): too small to read, nothing drawn (no line, bar or node), an image not loaded,
    "nan" in a chart or anywhere in the text."""
    # a tab's slide transition over: the view left is gone (lazy tabs), the new one is in
    page.wait_for_function(
        "() => !document.querySelector('.bloc-main .v-window__container--is-active')",
        timeout=10_000,
    )
    problems = []
    for kind, width, height, drawn, nan in page.evaluate(CHARTS_JS):
        if width < 200 or height < 100:
            problems.append(f"{kind} is too small: {width:.0f}x{height:.0f} px")
        if drawn == -1:
            problems.append(f"{kind}: the image is not loaded")
        elif not drawn:
            problems.append(f"{kind} is empty")
        if nan:
            problems.append(f"{kind} has 'nan' in it")
    text = page.locator(".bloc-main").inner_text()
    if re.search(r"\bnan\b", text, re.IGNORECASE):
        problems.append("'nan' shown on the page")
    return problems


#: The roles a person acts on: each needs a name a screen reader can say.
CONTROL_ROLES = {
    "button",
    "checkbox",
    "combobox",
    "link",
    "listbox",
    "menuitem",
    "option",
    "radio",
    "searchbox",
    "slider",
    "spinbutton",
    "switch",
    "tab",
    "textbox",
}


def unnamed_controls(page: Any) -> list[str]:
    """The controls on the page without an accessible name, as chromium's accessibility tree
    computes it (aria-label, a label associated with the input, the text of a button...): each
    as its role and the classes of its element."""
    cdp = page.context.new_cdp_session(page)
    try:
        nodes = cdp.send("Accessibility.getFullAXTree")["nodes"]
        out = []
        for n in nodes:
            role = n.get("role", {}).get("value")
            if role not in CONTROL_ROLES or n.get("ignored"):
                continue
            if str(n.get("name", {}).get("value", "")).strip():
                continue
            node = cdp.send("DOM.describeNode", {"backendNodeId": n["backendDOMNodeId"]})["node"]
            attrs = node.get("attributes", [])
            classes = dict(zip(attrs[::2], attrs[1::2])).get("class", "")
            out.append(f"{role} <{node.get('localName')} class={classes!r}>")
        return out
    finally:
        cdp.detach()


# The element that has the keyboard's focus: [tag, role or type, accessible label, classes of it
# and its ancestors (to find which control it belongs to)]
FOCUSED_JS = """
() => {
    const e = document.activeElement;
    const classes = [];
    for (let x = e; x && x !== document.body; x = x.parentElement) {
        if (typeof x.className === 'string') classes.push(x.className);
    }
    return [e.tagName, e.getAttribute('role') || e.type || '', e.getAttribute('aria-label') || '',
            classes.join(' ')];
}
"""


def focused(page: Any) -> list[str]:
    return page.evaluate(FOCUSED_JS)


def tab_to(page: Any, cls: str, most: int = 150) -> int:
    """Press Tab until the control of CSS class `cls` (or an element inside it) has the focus;
    the number of presses, or AssertionError after `most`."""
    for n in range(1, most + 1):
        page.keyboard.press("Tab")
        if cls in focused(page)[3].split():
            return n
    raise AssertionError(f"Tab never reached .{cls} in {most} presses")
