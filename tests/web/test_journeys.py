"""Journeys through the web UI only, in headless Debian chromium, by the people whose steps they
are, each from its start to its end, in a training database as `make run` makes: an owners'
committee election from opening to the filing notice (the administrator's training clock passes
the publicity and voting periods), a prior-review matter with uploaded documents through the
branch review to its decision and close, and a mediation escalating community → street →
district without an agreement. Each page is saved under test-artifacts/journeys/<process>/."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.web.test_browser import ARTIFACTS, election_to_publicity, ensure_rows, fill, log_in, new_page, running_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]
JOURNEYS = ARTIFACTS / "journeys"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from running_server(tmp_path_factory.mktemp("journeys"),
                              ["tiered_mediation.bpmn", "prior_review.bpmn", "committee_election.bpmn"], training=True)


def shot(page, name: str) -> None:
    """Saved as test-artifacts/journeys/<process>/<name>.png, the process being the name's first word."""
    process, _, rest = name.partition("-")
    folder = JOURNEYS / process
    folder.mkdir(parents=True, exist_ok=True)
    assert page.locator("#training-banner").count() == 1  # every page of a training database says so
    page.screenshot(path=str(folder / f"{rest}.png"), full_page=True)


# What sticks out past a phone's width (for the message of a failed fit check).
WIDER = """() => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
  .slice(0, 8).map(e => `${e.tagName}#${e.id}.${e.className}`)"""


def as_user(browser, base, username: str):
    page = new_page(browser, base)
    log_in(page, username)
    return page


def submit_ok(page) -> None:
    page.click("#submit-task")
    page.wait_for_url("**/cases/**")
    assert page.locator("#done").count() == 1, page.locator("#form-errors").all_inner_texts()


def open_step(page, case_url: str, title_part: str) -> None:
    page.goto(case_url)
    page.click(f'#current-steps tr:has-text("{title_part}") a.action')
    page.wait_for_url("**/tasks/**")


def shown(page, name: str) -> bool:
    return page.locator(f'[data-field="{name}"]').is_visible()


def test_election_from_opening_to_the_filing_notice(server, browser):
    base, rt, tmp = server
    meeting_day = date.today() + timedelta(days=20)
    page, case_url = election_to_publicity(browser, base, tmp, meeting_day,
                                           lambda p, name: shot(p, f"election-{name}"))
    page.goto(case_url)
    assert "公示期届满" in page.locator("#current-steps").inner_text()  # waiting for the publicity
    shot(page, "election-09-publicity")
    page.context.close()

    # The administrator moves the case's clock past the publicity and the voting period.
    admin = as_user(browser, base, "admin")
    admin.goto(case_url)
    admin.fill('#training-clock input[name="days"]', str((meeting_day - date.today()).days + 2))
    admin.fill('#training-clock input[name="reason"]', "   ")
    admin.click("#advance-clock")
    assert "请填写「原因」" in admin.locator("#clock-errors").inner_text()  # refused, shown in Chinese
    assert admin.locator("#training-clock input[name=days]").input_value() != ""  # what was typed stays
    admin.fill('#training-clock input[name="reason"]', "培训：跳过公示期与投票期")
    admin.click("#advance-clock")
    admin.wait_for_url("**moved=**")
    assert "录入选票" in admin.locator("#current-steps").inner_text()
    history = admin.locator("#history").inner_text()
    assert "模拟时间前进（培训环境）" in history and "培训：跳过公示期与投票期" in history
    assert history.count("期限届满（系统自动处理）") >= 2
    shot(admin, "election-10-training-clock")
    admin.set_viewport_size({"width": 390, "height": 844})  # the banner and the clock form fit a phone
    admin.goto(case_url)
    assert admin.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), admin.evaluate(WIDER)
    shot(admin, "election-10-training-clock-phone")
    admin.context.close()

    page = as_user(browser, base, "street")
    open_step(page, case_url, "录入选票")
    assert "业主名册" in page.locator("#review-panel").inner_text()  # the roll's totals before the ballots
    ballots = tmp / "选票统计.csv"
    ballots.write_text("业主编号,候选人,表决意见\n" + "".join(
        f"O{o},C{c},{'同意' if c <= 7 else '反对'}\n" for o in range(1, 9) for c in range(1, 9)), encoding="utf-8")
    fill(page, "ballot_entry.file", str(ballots))
    fill(page, "ballot_entry.scrutineers", "张伟、李娜")
    shot(page, "election-11-ballots")
    submit_ok(page)
    text = page.locator("main").inner_text()
    assert "选举结果" in text, text[:3000]
    shot(page, "election-12-result")
    page.context.close()

    # The street hands the first meeting's entry to a named person (指派, with a reason); it is
    # then in their 我的待办, no longer in the community pool.
    street = as_user(browser, base, "street")
    street.goto(case_url)
    row = street.locator('#current-steps tbody tr:has-text("召开首次业委会会议")')
    row.locator("details.assign summary").click()
    row.locator('select[name="assignee"]').select_option("community")
    row.locator('select[name="how"]').select_option("assign")
    row.locator('input[name="reason"]').fill("李社区负责该小区业委会备案")
    row.locator("button.assign-submit").click()
    street.wait_for_load_state()
    assert "李社区" in street.locator('#current-steps tbody tr:has-text("召开首次业委会会议")').inner_text()
    shot(street, "election-13a-assigned")
    street.context.close()

    # The elected committee's first meeting and its filing are entered by that person.
    page = as_user(browser, base, "community")
    page.goto("/inbox?scope=mine")
    assert "召开首次业委会会议" in page.locator("main").inner_text()
    open_step(page, case_url, "召开首次业委会会议")
    fill(page, "first_meeting.meeting_date", (meeting_day + timedelta(days=3)).isoformat())
    page.select_option('select[name="first_meeting.chair"]', "C1")
    page.select_option('select[name="first_meeting.vice_chair"]', "C2")
    shot(page, "election-13-first-meeting")
    submit_ok(page)

    # The filing step comes to the community's pool: it is claimed (认领) first.
    page.goto("/inbox?scope=pool")
    page.click('#inbox tr:has-text("提交备案材料") button.claim')
    page.goto("/inbox?scope=mine")
    assert "提交备案材料" in page.locator("main").inner_text()
    open_step(page, case_url, "提交备案材料")
    fill(page, "filing.materials", "选举结果公告\n业主委员会委员名单\n首次会议记录")
    fill(page, "filing.filed_with_housing_department", True)
    fill(page, "filing.office_address", "小区会所二楼")
    fill(page, "filing.contact_phone", "025-58000001")
    scan = tmp / "备案申请表.txt"
    scan.write_text("业主委员会备案申请表", encoding="utf-8")
    page.set_input_files('input[name="filing.documents"]', [str(scan)])
    shot(page, "election-14-filing")
    submit_ok(page)
    documents = page.locator("#documents").inner_text()
    assert "备案" in documents, documents
    assert "备案申请表.txt" in page.locator("main").inner_text()
    shot(page, "election-15-filed")
    # What is left is the renewal reminder years from now: the election itself is done.
    assert "任期届满前提醒" in page.locator("#current-steps").inner_text()


def test_mediation_escalates_to_the_district_without_an_agreement(server, browser):
    base, rt, tmp = server
    page = as_user(browser, base, "community")
    page.click("text=发起新案件")
    page.select_option('select[name="process"]', "tiered_mediation")
    page.select_option('select[name="compound"]', "PK-JP-XC-01")
    page.click('#new-case button[type="submit"]')
    page.wait_for_url("**/tasks/**")
    fill(page, "source", "walk_in")
    fill(page, "category", "fees")
    for i, (kind, side, name, phone) in enumerate([("owner", "applicant", "张建国", "13800000001"),
                                                   ("property_company", "respondent", "南京明发物业服务有限公司", "025-58000000")]):
        fill(page, f"parties.{i}.kind", kind)
        fill(page, f"parties.{i}.side", side)
        fill(page, f"parties.{i}.name", name)
        fill(page, f"parties.{i}.phone", phone)
    fill(page, "facts", "业主认为物业服务费上调未经业主大会决定，拒绝按新标准缴费；物业公司停止门禁卡授权。")
    fill(page, "claims", "按原标准收费并恢复门禁")
    shot(page, "mediation-01-intake")
    submit_ok(page)
    case_url = page.url.split("?")[0]

    open_step(page, case_url, "受理审查")
    fill(page, "accepted", True)
    assert not shown(page, "not_accepted_reason") and shown(page, "start_level")
    fill(page, "start_level", "community")
    assert not shown(page, "start_level_reason")
    fill(page, "mediation_place", "新城社区调解室")
    shot(page, "mediation-02-review")
    submit_ok(page)

    for level, user, mediator, title in (("community", "community", "李社区", "社区调解"),
                                         ("street", "street", "王街道", "街道调解"),
                                         ("district", "mediator", "孙调解员", "区级调解")):
        if user != "community":
            page.context.close()
            page = as_user(browser, base, user)
        open_step(page, case_url, f"{title}：指派调解员")
        assert "张建国" in page.locator("#review-panel").inner_text()  # parties and claims are shown
        assert page.locator('select[name="mediator_name"]').count() == 1  # picked, not typed
        page.select_option('select[name="mediator_name"]', mediator)
        fill(page, "mediator_phone", "13900000000")
        shot(page, f"mediation-03-{level}-assign")
        submit_ok(page)

        open_step(page, case_url, f"{title}：组织调解并记录")
        assert not shown(page, "terms") and not shown(page, "failure_reason")
        fill(page, "outcome", "settled")
        assert shown(page, "terms") and shown(page, "agreement_facts")
        fill(page, "outcome", "failed")  # the agreement fields go away again; the reason is asked for
        assert not shown(page, "terms") and shown(page, "failure_reason") and not shown(page, "extension_days")
        fill(page, "session_date", date.today().isoformat())  # held today, not before the case began
        fill(page, "session_attendees", "张建国\n王经理（物业）")
        fill(page, "session_summary", "听取双方陈述，双方未能达成一致。")
        fill(page, "failure_reason", f"{title}阶段双方对收费标准分歧较大。")
        shot(page, f"mediation-04-{level}-mediate-failed")
        submit_ok(page)
        shot(page, f"mediation-05-{level}-case")

    text = page.locator("main").inner_text()
    assert "引导诉讼/仲裁" in text, text[:2000]
    view = rt.get_case(case_url.rsplit("/", 1)[1], __import__("engine.runtime.actors", fromlist=["Actor"]).Actor.system("t"))
    assert view.summary["level_results"] == {"community": "failed", "street": "failed", "district": "failed"}
    assert view.status == "completed" and "已办结" in page.locator("#current-steps").inner_text()


def test_prior_review_submission_with_documents(server, browser):
    base, rt, tmp = server
    page = as_user(browser, base, "community")
    page.click("text=发起新案件")
    page.select_option('select[name="process"]', "prior_review")
    page.select_option('select[name="compound"]', "PK-JP-XC-01")
    page.click('#new-case button[type="submit"]')
    page.wait_for_url("**/tasks/**")
    plan, budget = tmp / "电梯更换方案.txt", tmp / "预算表.csv"
    plan.write_text("3栋电梯整体更换方案", encoding="utf-8")
    budget.write_text("项目,金额\n电梯设备,320000\n安装,60000\n", encoding="utf-8")
    fill(page, "title", "关于使用专项维修资金更换3栋电梯的议案")
    page.select_option('select[name="matter_code"]', label="6. 大额使用专项维修资金（紧急情况除外）")
    assert not shown(page, "unlisted_name")
    fill(page, "submitter_kind", "owners_committee")
    fill(page, "submitter_name", "明发滨江新城小区业主委员会")
    fill(page, "description", "3栋电梯使用已满20年，故障频发，拟整体更换。")
    fill(page, "amount", "380000")
    page.set_input_files('input[name="attachments"]', [str(plan), str(budget)])
    shot(page, "prior_review-01-submit")
    submit_ok(page)
    case_url = page.url.split("?")[0]
    text = page.locator("main").inner_text()
    assert "电梯更换方案.txt" in text and "预算表.csv" in text
    shot(page, "prior_review-02-case")

    page.context.close()
    page = as_user(browser, base, "branch")
    open_step(page, case_url, "小区党支部先议")
    panel = page.locator("#review-panel").inner_text()
    assert "第5项" in panel and "电梯更换方案.txt" in panel and "过半数" in panel
    assert not shown(page, "required_changes")
    fill(page, "review_outcome", "agree_with_changes")
    assert shown(page, "required_changes")
    fill(page, "review_outcome", "agree")
    fill(page, "review_opinion", "方案可行，同意提交业主大会表决。")
    fill(page, "meeting_date", "2026-11-20")
    fill(page, "attendees", "陈书记\n支委甲\n支委乙")
    minutes = tmp / "支委会会议记录.txt"
    minutes.write_text("支委会审议了更换电梯议案，一致同意。", encoding="utf-8")
    fill(page, "minutes", str(minutes))
    shot(page, "prior_review-03-branch-review")
    submit_ok(page)
    text = page.locator("main").inner_text()
    assert "支委会会议记录.txt" in text
    shot(page, "prior_review-04-case-after-review")
    page.context.close()

    # A large use of the maintenance fund is decided by the owners: the vote is arranged, its
    # period passed with the training clock, the ballots counted, the execution published.
    from tests.prior_review.support import ballots_csv, roll_csv

    page = as_user(browser, base, "community")
    open_step(page, case_url, "确定表决安排")
    vote_start = date.today() + timedelta(days=16)
    fill(page, "vote_start", vote_start.isoformat())
    fill(page, "vote_days", "7")
    fill(page, "vote_form", "书面征求意见")
    fill(page, "vote_place", "小区物业服务中心一楼")
    fill(page, "vote_items", "同意使用专项维修资金更换3栋电梯")
    roll = tmp / "业主名册（先议表决）.csv"
    roll.write_bytes(roll_csv(100))
    fill(page, "owner_roll", str(roll))
    shot(page, "prior_review-05-arrange-vote")
    submit_ok(page)
    page.context.close()

    admin = as_user(browser, base, "admin")
    admin.goto(case_url)
    admin.fill('#training-clock input[name="days"]', str(16 + 7 + 2))
    admin.fill('#training-clock input[name="reason"]', "培训：跳过公告期与投票期")
    admin.click("#advance-clock")
    admin.wait_for_url("**moved=**")
    assert "计票" in admin.locator("#current-steps").inner_text()
    shot(admin, "prior_review-06-training-clock")
    admin.context.close()

    page = as_user(browser, base, "community")
    open_step(page, case_url, "计票")
    panel = page.locator("#review-panel").inner_text()
    assert "100 人" in panel and "None" not in panel, panel  # the roll's totals the votes are counted against
    votes = tmp / "先议表决选票.csv"
    votes.write_bytes(ballots_csv(["同意使用专项维修资金更换3栋电梯"], 80, 10, 5))
    fill(page, "ballots", str(votes))
    fill(page, "counters", "计票人：张伟\n监票人：李娜")
    shot(page, "prior_review-07-count")
    submit_ok(page)
    shot(page, "prior_review-08-decided")

    open_step(page, case_url, "执行情况跟踪")
    fill(page, "execution_summary", "3栋电梯已完成更换并通过验收。")
    ensure_rows(page, "execution_entries", 1, "item")
    fill(page, "execution_entries.0.date", (vote_start + timedelta(days=20)).isoformat())
    fill(page, "execution_entries.0.item", "电梯设备及安装")
    fill(page, "execution_entries.0.amount", "376000")
    fill(page, "publicity_days", "7")
    receipt = tmp / "验收单.txt"
    receipt.write_text("3栋电梯验收合格", encoding="utf-8")
    page.set_input_files('input[name="attachments"]', [str(receipt)])
    shot(page, "prior_review-09-execution")
    submit_ok(page)
    page.context.close()

    admin = as_user(browser, base, "admin")
    admin.goto(case_url)
    admin.fill('#training-clock input[name="days"]', "12")
    admin.fill('#training-clock input[name="reason"]', "培训：执行情况公示期届满")
    admin.click("#advance-clock")
    admin.wait_for_url("**moved=**")
    text = admin.locator("main").inner_text()
    assert "已办结" in text and admin.locator("#training-clock").count() == 0, text[:3000]
    shot(admin, "prior_review-10-closed")


def test_conditional_fields_work_without_javascript(server, browser):
    """Without script every field stays shown with a note saying when it applies; what is typed
    in a field that does not apply is ignored, not refused."""
    base, rt, tmp = server
    from engine.runtime.actors import load_actor

    with rt.uow() as s:
        community = load_actor(s, "community")
    cn = rt.start_case("tiered_mediation", "PK-JP-XC-01", community, {}).case_number
    register = next(t.id for t in rt.list_tasks(community) if t.case_number == cn)
    rt.complete_task(register, community, {
        "source": "walk_in", "category": "noise", "facts": "楼上装修噪声持续到深夜。", "parties": [
            {"kind": "owner", "side": "applicant", "name": "甲业主", "phone": "13800000011"},
            {"kind": "owner", "side": "respondent", "name": "乙业主", "phone": "13800000012"}]})
    context = browser.new_context(java_script_enabled=False, locale="zh-CN", base_url=base,
                                  viewport={"width": 1366, "height": 768})
    page = context.new_page()
    log_in(page, "community")
    open_step(page, f"{base}/cases/{cn}", "受理审查")
    assert shown(page, "not_accepted_reason") and shown(page, "start_level_reason")
    assert "仅当「是否受理」为「否」时填写" in page.locator('[data-field="not_accepted_reason"]').inner_text()
    fill(page, "accepted", True)
    fill(page, "start_level", "community")
    fill(page, "not_accepted_reason", "（先写后改主意）")
    shot(page, "nojs-01-review")
    submit_ok(page)
    data = rt.get_case(cn, community).data
    assert data["accepted"] is True and "not_accepted_reason" not in data
    context.close()
