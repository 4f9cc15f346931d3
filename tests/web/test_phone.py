"""Phones and the diagram, in a real browser (Debian chromium) against a real server with the
demo loaded (cases of all three processes under way).

At 390 × 844 no page any of the nine demo accounts reaches overflows sideways
(`scrollWidth <= innerWidth`), every button stays inside its card, the navigation is a menu that
opens; screenshots go to test-artifacts/phone/. On a desktop the diagram opens at a readable
scale on the current step, and zooms and pans with buttons and dragging."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.config import BUNDLED_BPMN_DIR
from tests.web.browser_support import ARTIFACTS, CHROMIUM, chromium, demo_database, running_server
from tests.web.crawl import crawl
from tests.web.support import USERNAMES, logged_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]
PHONE = {"width": 390, "height": 844}
SHOTS = ARTIFACTS / "phone"
# Buttons and links styled as buttons whose edges lie beyond their card's (1 px for rounding);
# the diagram's own overlay buttons are clipped by its canvas and are left out.
OUTSIDE_CARD = """() => [...document.querySelectorAll('.card')].flatMap(card => {
  const box = card.getBoundingClientRect();
  return [...card.querySelectorAll('button, .button, input[type=submit]')]
    .filter(b => b.offsetParent !== null && !b.closest('.djs-container'))
    .filter(b => { const r = b.getBoundingClientRect(); return r.right > box.right + 1 || r.left < box.left - 1; })
    .map(b => (b.textContent || b.value || '').trim());
})"""


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (scripts/setup.sh installs it)")
    from engine.demo_cases import load_demo
    from engine.web.app import create_app

    tmp = tmp_path_factory.mktemp("phone")
    url, rt = demo_database(tmp, [BUNDLED_BPMN_DIR])
    info = load_demo(rt)
    app = create_app(rt.settings)  # only to list the pages each account reaches
    pages = {u: sorted(crawl(logged_in(app, u), "/")) for u in USERNAMES}
    with running_server(url, tmp) as base:
        yield base, info, pages


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


def _context(browser, base, viewport, **kw):
    ctx = browser.new_context(viewport=viewport, locale="zh-CN", base_url=base, **kw)
    ctx.set_default_timeout(20000)
    return ctx


def _log_in(page, username: str) -> None:
    page.goto("/login")
    page.fill('input[name="username"]', username)
    page.fill('input[name="password"]', "hongwu-demo")
    page.click('#login-form button[type="submit"]')
    page.wait_for_load_state()
    assert "/login" not in page.url


def _shot_name(username: str, path: str) -> str:
    return f"{username}{re.sub(r'[^0-9A-Za-z一-龥]+', '_', path).rstrip('_') or '_home'}"[:120] + ".png"


def test_no_demo_page_overflows_a_phone(demo_server, browser):
    base, _info, pages = demo_server
    SHOTS.mkdir(parents=True, exist_ok=True)
    problems: dict[str, str] = {}
    checked = 0
    for username in USERNAMES:
        ctx = _context(browser, base, PHONE, is_mobile=True, has_touch=True, device_scale_factor=1)
        page = ctx.new_page()
        _log_in(page, username)
        for path in pages[username]:
            page.goto(path)
            page.wait_for_load_state("load")
            width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
            outside = page.evaluate(OUTSIDE_CARD)
            if width[0] > width[1]:
                problems[f"{username} {path}"] = f"页面宽 {width[0]}px > {width[1]}px"
            elif outside:
                problems[f"{username} {path}"] = f"按钮超出卡片：{outside}"
            page.screenshot(path=str(SHOTS / _shot_name(username, path)), full_page=True)
            checked += 1
        ctx.close()
    assert checked >= 60, checked
    assert not problems, problems


def test_the_phone_menu_opens_and_tables_stack(demo_server, browser):
    base, _info, _pages = demo_server
    ctx = _context(browser, base, PHONE, is_mobile=True, has_touch=True)
    page = ctx.new_page()
    _log_in(page, "street")
    page.goto("/inbox")
    assert not page.locator("#nav").is_visible()  # collapsed
    assert page.locator(".nav-button .badge").inner_text().strip().isdigit()  # the count shows on the menu button
    page.click(".nav-button")
    assert page.locator("#nav a[href='/cases']").is_visible()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "street_menu_open.png"), full_page=True)
    # Table rows are cards: the head is hidden and every cell says which column it is.
    assert not page.locator("#inbox thead").is_visible()
    cell = page.locator("#inbox tbody tr").first.locator("td").first
    assert cell.get_attribute("data-label") == "案件编号"
    assert page.evaluate("getComputedStyle(document.querySelector('#inbox tbody tr')).display") == "block"
    ctx.close()


def test_inbox_sorting_and_badge_in_the_browser(demo_server, browser):
    base, _info, _pages = demo_server
    ctx = _context(browser, base, {"width": 1366, "height": 768})
    page = ctx.new_page()
    _log_in(page, "street")
    page.goto("/inbox")
    count = int(page.locator("#inbox-count").inner_text())
    assert count == page.locator("#inbox tbody tr").count() >= 1
    page.click("#sort-arrival")
    assert "sort=newest" in page.url
    arrived = [t for t in page.locator("#inbox tbody td:nth-child(5)").all_inner_texts()]
    assert arrived == sorted(arrived, reverse=True)
    page.select_option('select[name="sort"]', "oldest")
    page.click('form.filters button[type="submit"]')
    assert "sort=oldest" in page.url
    ctx.close()


def test_diagram_opens_readable_on_the_current_step_and_zooms(demo_server, browser):
    base, info, _pages = demo_server
    case = next(n for n in info["cases"] if n.startswith("TJ"))  # mediation: a long diagram
    ctx = _context(browser, base, {"width": 1366, "height": 768})
    page = ctx.new_page()
    _log_in(page, "street")
    page.goto(f"/cases/{case}")
    page.wait_for_selector('#diagram[data-state="ready"]')
    holder = page.locator("#diagram")
    assert float(holder.get_attribute("data-zoom")) == 1.0  # a readable scale, not fit-to-width
    # The current step is on screen, near the middle.
    active = page.locator("#diagram .djs-element.active").first
    box, frame = active.bounding_box(), holder.bounding_box()
    assert frame["x"] <= box["x"] and box["x"] + box["width"] <= frame["x"] + frame["width"]
    assert frame["y"] <= box["y"] and box["y"] + box["height"] <= frame["y"] + frame["height"]
    page.click('button[data-zoom="in"]')
    assert float(holder.get_attribute("data-zoom")) == pytest.approx(1.25, abs=0.01)
    page.click('button[data-zoom="out"]')
    page.click('button[data-zoom="out"]')
    assert float(holder.get_attribute("data-zoom")) == pytest.approx(0.8, abs=0.01)
    page.click('button[data-zoom="fit"]')
    fitted = float(holder.get_attribute("data-zoom"))
    assert fitted < 1.0
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS.parent / "diagram-fit.png"))
    page.click('button[data-zoom="current"]')
    assert float(holder.get_attribute("data-zoom")) == 1.0
    # Dragging pans the canvas (no Ctrl needed).
    holder.scroll_into_view_if_needed()
    frame = holder.bounding_box()
    before = active.bounding_box()
    page.mouse.move(frame["x"] + frame["width"] / 2, frame["y"] + 40)
    page.mouse.down()
    page.mouse.move(frame["x"] + frame["width"] / 2 - 200, frame["y"] + 60, steps=8)
    page.mouse.up()
    after = active.bounding_box()
    assert after["x"] < before["x"] - 150
    page.screenshot(path=str(SHOTS.parent / "diagram-current.png"))
    # The history, every 数据变更 opened, for a look at the labels.
    page.evaluate("document.querySelectorAll('#history details').forEach(d => d.open = true)")
    page.locator("#history").screenshot(path=str(SHOTS.parent / "history-open.png"))
    ctx.close()
