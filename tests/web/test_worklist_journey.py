"""A journey through the web UI only, in headless Debian chromium: a community worker claims a
mediation intake from the pool, the street assigns it to a colleague and comments with an
@mention, the colleague finds it under 我的待办 (on a phone), and the street suspends, resumes and
finally cancels the case. Pages are saved under test-artifacts/worklist/ at desktop width and
390 px."""
from __future__ import annotations

import pytest
from sqlalchemy import update

from engine.db.models import User
from engine.orgs import ensure_user
from engine.runtime.actors import load_actor
from tests.web.browser_support import chromium
from tests.web.support import demo_hash
from tests.web.test_browser import ARTIFACTS, log_in, new_page, running_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]
FOLDER = ARTIFACTS / "worklist"


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from running_server(tmp_path_factory.mktemp("worklist"), ["tiered_mediation.bpmn"])


def shot(page, name: str) -> None:
    FOLDER.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(FOLDER / f"{name}.png"), full_page=True)


def phone(browser, base, username: str):
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", base_url=base,
                                  device_scale_factor=1, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(20000)
    log_in(page, username)
    return page


def as_user(browser, base, username: str):
    page = new_page(browser, base)
    log_in(page, username)
    return page


def fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_claim_assign_comment_suspend_resume_cancel(server, browser):
    base, rt, tmp = server
    with rt.uow() as s:
        ensure_user(s, "community3", "何社区", "community_staff", "PK-JP-XC", None, rt.now())
        s.execute(update(User).where(User.username == "community3").values(password_hash=demo_hash()))
        community = load_actor(s, "community")
    case = rt.start_case("tiered_mediation", "PK-JP-XC-01", community, {})
    case_url = f"/cases/{case.case_number}"

    # 1. The community worker claims the intake from the pool.
    me = as_user(browser, base, "community")
    me.goto("/inbox?scope=pool")
    assert me.locator("#tab-pool .count").inner_text() == "1"
    shot(me, "01-pool-desktop")
    me.click(f'#inbox tr:has-text("{case.case_number}") button.claim')
    me.wait_for_load_state()
    me.goto("/inbox?scope=mine")
    assert me.locator("#tab-mine .count").inner_text() == "1" and me.locator("#tab-pool .count").inner_text() == "0"
    assert "李社区" in me.locator("#inbox").inner_text()
    shot(me, "02-mine-desktop")
    me.context.close()

    # 2. The street assigns it to a colleague, then comments with an @mention (picked by name).
    street = as_user(browser, base, "street")
    street.goto(case_url)
    row = street.locator("#current-steps tbody tr").first
    assert "李社区" in row.inner_text() and "认领" in row.inner_text()
    row.locator("details.assign summary").click()
    row.locator('select[name="assignee"]').select_option("community3")
    row.locator('select[name="how"]').select_option("delegate")
    row.locator('input[name="reason"]').fill("")
    row.locator("button.assign-submit").click()
    street.wait_for_load_state()
    assert "请填写「原因」" in street.locator("#task-errors").inner_text()  # 转办 needs a reason
    row = street.locator("#current-steps tbody tr").first
    row.locator("details.assign summary").click()
    row.locator('select[name="assignee"]').select_option("community3")
    row.locator('select[name="how"]').select_option("delegate")
    row.locator('input[name="reason"]').fill("李社区外出培训，转何社区登记")
    row.locator("button.assign-submit").click()
    street.wait_for_load_state()
    assert "何社区" in street.locator("#current-steps tbody tr").first.inner_text()
    street.locator("#comment-body").fill("请尽快登记，")
    street.click('#comment-form button[data-mention="community3"]')
    assert "@community3" in street.locator("#comment-body").input_value()
    street.click("#comment-submit")
    street.wait_for_url("**#comments")
    assert "何社区" in street.locator("#comments").inner_text()
    history = street.locator("#history").inner_text()
    assert "转办任务" in history and "转办给 何社区" in history and "发表意见" in history
    shot(street, "03-case-assigned-commented-desktop")

    # 3. The colleague finds it under 我的待办 on a phone; the page fits the screen.
    colleague = phone(browser, base, "community3")
    colleague.goto("/inbox?scope=mine")
    assert case.case_number in colleague.locator("#inbox").inner_text() and fits(colleague)
    shot(colleague, "04-mine-390")
    colleague.goto(case_url)
    assert fits(colleague)
    shot(colleague, "05-case-390")

    # 4. The street suspends (the reason is required), resumes, and cancels the case.
    street.goto(case_url)
    street.select_option("#control-action", "suspend")
    street.fill("#control-reason", "当事人申请暂缓，核实材料")
    street.click("#control-submit")
    street.wait_for_url("**controlled=suspend**")
    assert "已暂停" in street.locator("#current-steps").inner_text()
    shot(street, "06-suspended-desktop")
    colleague.goto(case_url)
    assert colleague.locator("#current-steps a.action").count() == 0  # no 办理 while suspended
    assert "已暂停办理" in colleague.locator("#suspended-note").inner_text() and fits(colleague)
    shot(colleague, "07-suspended-390")
    street.select_option("#control-action", "resume")
    street.fill("#control-reason", "材料已核实")
    street.click("#control-submit")
    street.wait_for_url("**controlled=resume**")
    street.select_option("#control-action", "cancel")
    street.fill("#control-reason", "当事人撤回调解申请")
    street.click("#control-submit")
    street.wait_for_url("**controlled=cancel**")
    assert "已撤销" in street.locator("dl.summary").first.inner_text()
    history = street.locator("#history").inner_text()
    for words in ("暂停办理", "当事人申请暂缓，核实材料", "恢复办理", "材料已核实", "撤销案件", "当事人撤回调解申请"):
        assert words in history, words
    assert street.locator("#supervision").count() == 0  # nothing left to control
    shot(street, "08-cancelled-desktop")
    colleague.goto(case_url)
    assert fits(colleague)
    shot(colleague, "09-cancelled-390")
    colleague.context.close()
    street.context.close()
