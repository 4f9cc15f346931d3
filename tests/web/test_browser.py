"""Real browser (Debian chromium, headless) against a real uvicorn server.

A street staff member logs in, opens a committee election case and takes it to the candidate
publicity (the two party reviews in between are done by the party users in their own browsers,
looking at the candidate sheet), then downloads the publicity PDF; a community staff member of another community cannot
see the case; an auditor sees history and diagram and no action buttons. Screenshots go to
test-artifacts/."""
from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from engine.config import BUNDLED_BPMN_DIR
from tests.web.browser_support import ARTIFACTS, CHROMIUM, demo_database
from tests.web.browser_support import running_server as running_server_at

pytestmark = [pytest.mark.browser, pytest.mark.slow]
from engine.processes.committee import DEMO_ROLL as ROLL  # noqa: E402 - the demo compound's owner roll

CANDIDATES = [("C1", "O1", "张伟", True), ("C2", "O2", "王芳", True), ("C3", "O3", "李娜", True),
              ("C4", "O4", "刘洋", True), ("C5", "O5", "陈静", False), ("C6", "O6", "杨帆", False),
              ("C7", "O7", "赵磊", True), ("C8", "O8", "黄敏", False)]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from running_server(tmp_path_factory.mktemp("browser"), ["committee_election.bpmn"])


def running_server(tmp: Path, bpmn_files: list[str], training: bool = False):
    """A uvicorn server on a fresh SQLite database with the demo users and `bpmn_files` deployed
    (a training database when `training`, as `make run` makes): yields (base url, runtime, tmp)."""
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (scripts/setup.sh installs it)")
    url, rt = demo_database(tmp, [BUNDLED_BPMN_DIR / f for f in bpmn_files], training=training)
    with running_server_at(url, tmp) as base:
        yield base, rt, tmp


def new_page(browser, base):
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN", accept_downloads=True,
                                  base_url=base)
    page = context.new_page()
    page.set_default_timeout(20000)
    return page


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def log_in(page, username: str) -> None:
    page.goto("/login")
    page.fill('input[name="username"]', username)
    page.fill('input[name="password"]', "hongwu-demo")
    page.click('#login-form button[type="submit"]')
    page.wait_for_load_state()
    assert "/login" not in page.url, page.content()[:2000]


def fill(page, name: str, value) -> None:
    loc = page.locator(f'[name="{name}"]')
    kind = loc.first.evaluate("e => e.tagName + ':' + (e.type || '')")
    if kind.endswith(":radio"):
        page.check(f'[name="{name}"][value="{_text(value)}"]')
    elif kind.endswith(":checkbox"):
        page.check(f'[name="{name}"][value="{_text(value)}"]')
    elif kind.startswith("SELECT"):
        loc.select_option(_text(value))
    elif kind.endswith(":file"):
        loc.set_input_files(value)
    else:
        loc.fill(_text(value))


def _text(value) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def ensure_rows(page, group: str, count: int, probe: str) -> None:
    while page.locator(f'[name="{group}.{count - 1}.{probe}"]').count() == 0:
        page.click(f'button.add-row[value="add:{group}"]')


def submit_and_next(page) -> None:
    page.click("#submit-task")
    page.wait_for_url("**/cases/**")
    assert page.locator("#done").count() == 1, page.content()[:3000]


def open_my_task(page) -> None:
    page.click("#current-steps a.action")
    page.wait_for_url("**/tasks/**")


def election_to_publicity(browser, base, tmp, meeting_date, shoot):
    """A committee election walked in the browser from opening to the candidate publicity: the
    street staff member's steps, then the two party reviews in the reviewers' own browsers.
    `shoot(page, name)` saves each page. Returns the street staff member's page and the case URL."""
    page = new_page(browser, base)
    page.goto("/login")
    assert "演示账号" in page.content()
    shoot(page, "01-login")
    log_in(page, "street")
    assert page.url.endswith("/inbox")
    page.click("text=发起新案件")
    page.select_option('select[name="process"]', "committee_election")
    page.select_option('select[name="compound"]', "PK-JP-XC-01")
    page.click('#new-case button[type="submit"]')
    page.wait_for_url("**/tasks/**")
    shoot(page, "02-open-case-form")

    # Step 1: open the case. First a wrong value to see the inline error, then the right one.
    fill(page, "case.election_kind", "first")
    fill(page, "case.seats", 7)
    fill(page, "case.term_years", "9")
    page.click("#submit-task")
    assert page.locator('[data-error-for="case.term_years"]').inner_text() == "「任期（年）」不能大于 5"
    shoot(page, "03-inline-error")
    fill(page, "case.term_years", "5")
    submit_and_next(page)
    case_url = page.url.split("?")[0]

    # Step 2: the preparatory group (a repeating group).
    open_my_task(page)
    members = [("王街道", "street", "组长"), ("张伟", "owner", "副组长"), ("李娜", "owner", "成员"),
               ("某开发公司代表", "developer", "成员"), ("黄敏", "owner", "成员")]
    ensure_rows(page, "group.members", len(members), "name")
    for i, (name, kind, position) in enumerate(members):
        fill(page, f"group.members.{i}.name", name)
        fill(page, f"group.members.{i}.kind", kind)
        fill(page, f"group.members.{i}.position", position)
    shoot(page, "04-group-form")
    submit_and_next(page)

    # Step 3: the owner roll (file upload).
    open_my_task(page)
    roll = tmp / "业主名册.csv"
    roll.write_text(ROLL, encoding="utf-8")
    fill(page, "roll.file", str(roll))
    fill(page, "roll.inspection_place", "小区物业服务中心")
    shoot(page, "04-roll-form")
    submit_and_next(page)

    # Step 4: the meeting plan.
    open_my_task(page)
    fill(page, "meeting.meeting_name", "首次业主大会会议")
    fill(page, "meeting.meeting_date", meeting_date.isoformat())
    fill(page, "meeting.meeting_time", "上午9:00至11:30")
    fill(page, "meeting.place", "小区会所")
    fill(page, "meeting.form", "书面征求意见")
    shoot(page, "04-meeting-plan-form")
    submit_and_next(page)

    # Step 5: candidates (a repeating group with yes/no fields).
    open_my_task(page)
    ensure_rows(page, "candidates", len(CANDIDATES), "name")
    for i, (cid, owner, name, party) in enumerate(CANDIDATES):
        fill(page, f"candidates.{i}.candidate_id", cid)
        fill(page, f"candidates.{i}.owner_id", owner)
        fill(page, f"candidates.{i}.name", name)
        fill(page, f"candidates.{i}.party_member", party)
    shoot(page, "04-candidates-form")
    submit_and_next(page)

    # The community party organisation and the street party committee review the candidates in
    # their own browsers: each sees the candidate sheet (screening, party share) and gives one
    # verdict per listed candidate.
    for username, field, spec in (("cparty", "community_decisions", "社区党组织审查候选人"),
                                  ("sparty", "street_decisions", "街道党工委联审候选人")):
        reviewer = new_page(browser, base)
        log_in(reviewer, username)
        reviewer.goto(case_url)
        reviewer.click(f'#current-steps tr:has-text("{spec}") a.action')
        reviewer.wait_for_url("**/tasks/**")
        panel = reviewer.locator("#review-panel").inner_text()
        assert "本次审查的候选人（8 名）" in panel and "张伟" in panel and "未命中负面清单情形" in panel
        assert "党员占比" in panel and "5/8" in panel
        rows = reviewer.locator(f'input[type="hidden"][name^="{field}."][name$=".candidate_id"]')
        assert rows.count() == len(CANDIDATES)
        for i in range(len(CANDIDATES)):
            fill(reviewer, f"{field}.{i}.approve", True)
        shoot(reviewer, f"04-{username}-review")
        submit_and_next(reviewer)
        reviewer.context.close()

    return page, case_url


def test_election_to_candidate_publicity_in_the_browser(server, browser):
    base, rt, tmp = server
    page, case_url = election_to_publicity(browser, base, tmp, date.today() + timedelta(days=40), shot)
    case_number = case_url.rsplit("/", 1)[1]

    # The street staff member downloads the candidate publicity.
    page.goto(case_url)
    row = page.locator("#documents tr", has_text="候选人")
    assert row.count() >= 1, page.locator("#documents").inner_text()
    with page.expect_download() as info:
        row.first.locator("a.download").click()
    pdf = Path(info.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF")
    shot(page, "05-case-street")

    # Another community's staff member cannot see the case.
    other = new_page(browser, base)
    log_in(other, "community2")
    response = other.goto(case_url)
    assert response.status == 404 and case_number in other.content()
    other.goto("/cases")
    assert case_number not in other.locator("#cases").inner_text()
    shot(other, "06-other-community-404")

    # The auditor sees history and diagram, and no action buttons.
    auditor = new_page(browser, base)
    log_in(auditor, "auditor")
    auditor.goto(case_url)
    auditor.wait_for_selector('#diagram[data-state="ready"]')
    assert auditor.locator("#diagram svg .djs-element.completed").count() > 3
    assert auditor.locator("#history li").count() >= 8
    assert "办理完成" in auditor.locator("#history").inner_text()
    assert auditor.locator("a.action, #task-form, button.primary").count() == 0
    assert auditor.locator("text=办理").filter(has_text="办理").locator("xpath=ancestor::a").count() == 0
    shot(auditor, "07-case-auditor")
    auditor.emulate_media(media="print")
    shot(auditor, "08-case-auditor-print")
