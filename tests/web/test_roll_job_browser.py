"""A large owner roll in chromium: the street office uploads it on 确认业主名册, lands on the job's
page and sees the bar move without reloading, leaves, comes back through the case page's 后台处理
card, and finds the roll imported and the case at its next step.

The server runs as `hongwu serve` does; there the roll's check reports every 100 rows and waits
0.3 s each time, so the bar is seen moving; the threshold is lowered to 100 rows."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.engine.test_background_jobs import roll_csv
from tests.web.browser_support import ARTIFACTS, CHROMIUM, chromium, demo_database, running_server, serve_with_jobs
from tests.web.test_browser import log_in, new_page

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SHOTS = ARTIFACTS / "roll_job"
ROWS = 2000
SERVE = serve_with_jobs(  # the roll's progress reports come slowly, so the bar is seen moving
    "import time, engine.domain.owner_roll as roll, engine.processes.committee._shared as steps\n"
    "roll.PROGRESS_ROWS = 100\n"
    "parse = steps.parse_roll\n"
    "steps.parse_roll = lambda data, name, progress=None: parse(data, name, progress and"
    " (lambda done, total: (time.sleep(0.3), progress(done, total))))")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (scripts/setup.sh installs it)")
    tmp = tmp_path_factory.mktemp("roll_job")
    from engine.config import BUNDLED_BPMN_DIR

    url, rt = demo_database(tmp, [BUNDLED_BPMN_DIR / "committee_election.bpmn"])
    from engine.runtime.actors import load_actor

    with rt.uow() as s:
        street = load_actor(s, "street")
    number = rt.start_case("committee_election", "PK-JP-XC-01", street, {}).case_number

    def task(name):
        return next(t.id for t in rt.list_tasks(street) if t.case_number == number and t.name == name)

    rt.complete_task(task("open_case"), street, {"case": {"election_kind": "first", "seats": 5, "term_years": 5}})
    rt.complete_task(task("form_group"), street, {"group": {"members": [
        {"name": "王街道", "kind": "street", "position": "组长"}, {"name": "张伟", "kind": "owner", "position": "成员"},
        {"name": "李娜", "kind": "owner", "position": "成员"}]}})
    roll = tmp / "业主名册.csv"
    roll.write_bytes(roll_csv(ROWS))
    with running_server(url, tmp, env={"HONGWU_ROLL_JOB_ROWS": "100"}, python_code=SERVE) as base, \
            chromium() as browser:
        yield base, browser, number, task("confirm_roll"), roll


def test_the_roll_is_checked_in_the_background_and_the_case_moves_on(served):
    base, browser, number, task_id, roll = served
    page = new_page(browser, base)
    log_in(page, "street")
    page.goto(f"/tasks/{task_id}")
    page.set_input_files('input[name="roll.file"]', str(roll))
    page.fill('input[name="roll.inspection_place"]', "小区物业服务中心")
    page.click("#submit-task")
    page.wait_for_url("**/jobs/*")
    bar = page.locator("#job [data-job-progress] progress")
    page.evaluate("window.notReloaded = true")
    for _ in range(150):  # polled from here: the page's CSP refuses wait_for_function's eval
        if float(bar.get_attribute("value") or 0) >= 300:
            break
        time.sleep(0.1)
    else:
        raise AssertionError(f"the bar did not move: {bar.get_attribute('value')}")
    assert page.evaluate("window.notReloaded") is True
    text = page.locator("#job .progress-text").inner_text()
    assert "已完成" in text and f"/ {ROWS + 1}" in text and "预计还需" in text, text
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "running-desktop.png"), full_page=True)
    page.goto(f"/cases/{number}")  # leave for the case page: the card shows the import
    card = page.locator("#jobs")
    assert "确认业主名册" in card.inner_text() and card.locator("a[href^='/jobs/']").count() == 1
    card.locator("a[href^='/jobs/']").click()  # come back
    for _ in range(200):
        if page.locator("#job-done").count():
            break
        time.sleep(0.1)
        if not page.locator("[data-job-progress]").count():  # neither running nor done
            page.reload()
    assert f"（{ROWS} 套房屋、{ROWS} 名业主）" in page.locator("#job-done").inner_text()
    assert page.locator("#job-case").count() == 1
    page.screenshot(path=str(SHOTS / "done-desktop.png"), full_page=True)
    page.goto(f"/cases/{number}")
    assert "拟定会议方案与表决规则" in page.locator("main").inner_text()
