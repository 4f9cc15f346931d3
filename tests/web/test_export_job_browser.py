"""A bulk audit export in chromium: the auditor asks for it, watches the bar move without the page
reloading, leaves, comes back through 我的后台任务 and downloads the file.

The server runs as `hongwu serve` does (the job thread in the web process); each case of the export
takes 0.4 s there, so the bar is seen moving; the threshold is lowered to one case."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.engine.job_support import ASYNC_BPMN, FORMS
from tests.web.browser_support import ARTIFACTS, CHROMIUM, chromium, demo_database, running_server, serve_with_jobs
from tests.web.test_browser import log_in, new_page

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SHOTS = ARTIFACTS / "export_job"
CASES = 10
SERVE = serve_with_jobs(  # each case's rows read slowly, so the bar is seen moving
    "import time, tests.engine.job_support, engine.web.audit_pages as pages\n"
    "rows = pages.readable_rows\n"
    "pages.readable_rows = lambda rt, n: (time.sleep(0.4), rows(rt, n))[1]")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (scripts/setup.sh installs it)")
    tmp = tmp_path_factory.mktemp("export_job")
    url, rt = demo_database(tmp, [])
    from engine.runtime.actors import load_actor
    from engine.runtime.service import deploy

    deploy(rt, [ASYNC_BPMN], FORMS)
    with rt.uow() as s:
        street = load_actor(s, "street")
    for _ in range(CASES):
        rt.start_case("async_step", "PK-JP-XC-01", street)
    env = {"HONGWU_EXPORT_JOB_CASES": "1"}
    with running_server(url, tmp, env=env, python_code=SERVE) as base, chromium() as browser:
        yield base, browser


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}-desktop.png"), full_page=True)


def test_the_auditor_watches_the_export_leaves_comes_back_and_downloads_it(served):
    base, browser = served
    page = new_page(browser, base)
    log_in(page, "auditor")
    page.goto("/audit/export?format=csv")
    assert f"{CASES}</strong> 个案件" in page.content()
    page.click("#start-export")
    page.wait_for_url("**/jobs/*")
    job_url = page.url
    bar = page.locator("#job [data-job-progress] progress")
    page.evaluate("window.notReloaded = true")
    for _ in range(100):  # polled from here: the page's CSP refuses wait_for_function's eval
        if float(bar.get_attribute("value") or 0) >= 2:
            break
        time.sleep(0.1)
    else:
        raise AssertionError(f"the bar did not move: {bar.get_attribute('value')}")
    assert page.evaluate("window.notReloaded") is True
    text = page.locator("#job .progress-text").inner_text()
    assert "已完成" in text and f"/ {CASES}" in text, text
    shot(page, "running")
    page.goto("/cases")  # leave
    for _ in range(100):
        page.goto("/jobs")  # come back through the list
        if "已完成" in page.locator("#my-jobs").inner_text():
            break
        time.sleep(0.3)
    page.click(f"#my-jobs a[href='{job_url.removeprefix(base)}']")
    page.wait_for_load_state()
    assert page.locator("#job-done").count() == 1
    shot(page, "done")
    with page.expect_download() as got:
        page.click("#job-download")
    path = got.value.path()
    content = Path(path).read_bytes().decode("utf-8-sig")
    assert got.value.suggested_filename == "审计导出.csv"
    assert content.startswith("案件编号,序号") and content.count("\n") >= CASES
