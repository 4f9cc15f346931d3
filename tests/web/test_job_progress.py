"""The progress bar of a background step, and an incident retried from the page, in chromium.

The server runs as `hongwu serve` does: the web app and, in the same process, the thread that
runs due jobs (SQLite: the running job's progress is read from that process). The step is the
test process's slow one (a page every 0.4 s); a file the test creates makes it fail."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.engine.job_support import ASYNC_BPMN, FORMS
from tests.web.browser_support import ARTIFACTS, CHROMIUM, chromium, demo_database, running_server, serve_with_jobs
from tests.web.test_browser import log_in, new_page

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SHOTS = ARTIFACTS / "jobs"
SERVE = serve_with_jobs("import tests.engine.job_support")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (scripts/setup.sh installs it)")
    tmp = tmp_path_factory.mktemp("jobs")
    url, rt = demo_database(tmp, [])
    from engine.runtime.service import deploy

    deploy(rt, [ASYNC_BPMN], FORMS)
    fail = tmp / "fail"
    env = {"HONGWU_TEST_PAGE_SECONDS": "0.4", "HONGWU_TEST_FAIL_FILE": str(fail), "HONGWU_JOB_BACKOFF_SECONDS": "0.5"}
    with running_server(url, tmp, env=env, python_code=SERVE) as base, chromium() as browser:
        yield base, rt, fail, browser


def reach_step(rt, pages: int) -> str:
    from engine.runtime.actors import load_actor

    with rt.uow() as s:
        street = load_actor(s, "street")
    view = rt.start_case("async_step", "PK-JP-XC-01", street)
    rt.complete_task(view.tasks[0]["id"], street, {"applicant": "张三", "amount": pages, "review_days": 7})
    return view.case_number


def shots(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}-desktop.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(SHOTS / f"{name}-phone.png"), full_page=True)
    page.set_viewport_size({"width": 1366, "height": 768})


def test_the_progress_bar_moves_without_reloading_then_the_page_shows_the_next_step(served):
    base, rt, _fail, browser = served
    number = reach_step(rt, 25)  # 10 s of work
    page = new_page(browser, base)
    log_in(page, "street")
    page.goto(f"/cases/{number}")
    bar = page.locator("#jobs [data-job-progress] progress")
    assert page.locator("#jobs").count() == 1, page.locator("main").inner_text()[:3000]
    assert "生成材料" in page.locator("#jobs").inner_text()
    # The same page, not reloaded, shows the pages done growing.
    page.evaluate("window.notReloaded = true")
    # Polled from here: the page's CSP (script-src 'self') refuses wait_for_function's eval.
    for _ in range(200):
        if float(bar.get_attribute("value") or 0) >= 5:
            break
        time.sleep(0.1)
    else:
        raise AssertionError(f"the bar did not move: {bar.get_attribute('value')}")
    assert page.evaluate("window.notReloaded") is True
    text = page.locator("#jobs .progress-text").inner_text()
    assert "已完成" in text and "/ 25" in text and "预计还需" in text, text
    assert int(bar.get_attribute("max") or 0) in (1, 25)
    shots(page, "progress")
    # When the step has run, the page reloads itself and shows the next step.
    page.wait_for_selector('#current-steps :text("党组织审查")', timeout=40000)
    assert page.locator("#jobs").count() == 0
    shots(page, "progress-done")


def test_an_incident_is_shown_and_retried_from_the_page(served):
    base, rt, fail, browser = served
    fail.touch()
    number = reach_step(rt, 2)
    page = new_page(browser, base)
    log_in(page, "admin")
    for _ in range(100):  # three attempts, half a second apart, then the incident
        page.goto(f"/cases/{number}")
        if page.locator("#jobs .incident").count():
            break
        time.sleep(0.5)
    incident = page.locator("#jobs .incident").inner_text()
    assert "执行失败" in incident and "打印机离线" in incident and "已尝试 3 次" in incident
    assert page.locator("#jobs details.trace").count() == 1  # administrators see the stack trace
    shots(page, "incident-case")
    page.goto("/admin/incidents")
    assert number in page.locator("#incidents").inner_text()
    shots(page, "incident-list")

    street = new_page(browser, base)
    log_in(street, "street")
    street.goto(f"/cases/{number}")
    assert street.locator("#jobs .incident").count() == 1
    assert street.locator("#jobs details.trace").count() == 0  # street staff do not

    fail.unlink()
    page.click('#incidents form[action^="/jobs/"] button:has-text("重试")')
    page.wait_for_url("**/admin/incidents")
    assert number not in page.locator("#incidents").inner_text()
    street.goto(f"/cases/{number}")
    street.wait_for_selector('#current-steps :text("党组织审查")', timeout=40000)
    history = rt.get_case(number, _actor(rt, "street"))
    assert [t["name"] for t in history.tasks] == ["review"]


def _actor(rt, username):
    from engine.runtime.actors import load_actor

    with rt.uow() as s:
        return load_actor(s, username)
