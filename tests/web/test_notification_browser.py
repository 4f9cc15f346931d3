"""The notification centre in a real browser (Debian chromium) against the demo: the unread badge
in the top bar, the list, marking one and then all read — on a desktop and at 390 px, where the
badge stays visible without opening the menu. Screenshots: test-artifacts/notifications/."""
from __future__ import annotations

from pathlib import Path

import pytest

from engine.config import BUNDLED_BPMN_DIR
from tests.web.browser_support import ARTIFACTS, CHROMIUM, chromium, demo_database, running_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SHOTS = ARTIFACTS / "notifications"
SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (scripts/setup.sh installs it)")
    from engine.demo_cases import load_demo

    tmp = tmp_path_factory.mktemp("notifications")
    url, rt = demo_database(tmp, [BUNDLED_BPMN_DIR])
    load_demo(rt)
    with running_server(url, tmp) as base:
        yield base


@pytest.mark.parametrize("size", sorted(SIZES))
def test_badge_centre_and_mark_read(demo_server, size):
    SHOTS.mkdir(parents=True, exist_ok=True)
    user = "street" if size == "desktop" else "community"
    with chromium() as browser:
        ctx = browser.new_context(viewport=SIZES[size], locale="zh-CN", base_url=demo_server)
        ctx.set_default_timeout(20000)
        page = ctx.new_page()
        page.goto("/login")
        page.fill('input[name="username"]', user)
        page.fill('input[name="password"]', "hongwu-demo")
        page.click('#login-form button[type="submit"]')
        page.wait_for_load_state()
        badge = page.locator("#notification-count")
        assert badge.is_visible()  # on a phone too, with the menu closed
        before = int(badge.inner_text())
        assert before > 0
        page.screenshot(path=str(SHOTS / f"{size}-badge.png"))
        page.click("#nav-notifications")
        page.wait_for_url("**/notifications")
        items = page.locator("#notifications li.unread")
        assert items.count() == min(before, 50)
        assert "新待办" in page.locator("#notifications").inner_text()
        page.screenshot(path=str(SHOTS / f"{size}-centre.png"), full_page=False)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        page.locator("#notifications li.unread .mark-read").first.click()
        page.wait_for_load_state()
        assert "已标为已读" in page.inner_text("main")
        assert int(page.locator("#notification-count").inner_text()) == before - 1
        assert page.locator("#notifications li.read").count() == 1
        page.screenshot(path=str(SHOTS / f"{size}-one-read.png"))
        page.click("#read-all")
        page.wait_for_load_state()
        assert page.locator("#notification-count").count() == 0
        assert page.locator("#notifications li.unread").count() == 0
        page.click("#notification-settings")
        page.wait_for_url("**/notifications/settings")
        page.fill('input[name="email"]', "wang@example.cn")
        page.check('input[name="daily_digest"]')
        page.click('#notification-preferences button[type="submit"]')
        page.wait_for_load_state()
        assert "通知设置已保存" in page.inner_text("main")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        page.screenshot(path=str(SHOTS / f"{size}-settings.png"), full_page=True)
        ctx.close()
