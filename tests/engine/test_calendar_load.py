"""Loading a year's official holiday schedule: checked, stored as an audited version, and every
pending deadline it affects counted again (one transaction per case, audited with old and new
date); a dry run changes nothing; a bad file changes nothing; nothing moves onto a passed time."""
import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from engine import audit
from engine.db.models import AuditEvent, HumanTask, SettingVersion, Timer
from engine.runtime.errors import Forbidden, ValidationFailed
from tests.engine.support import apply_data
from tests.engine.test_holidays import SCHEDULE_2027

JAN21 = datetime(2027, 1, 21, 2, tzinfo=UTC)  # 10:00 Beijing, a Thursday
FEB09_END = datetime(2027, 2, 9, 16, tzinfo=UTC)  # 24:00 of 2027-02-09, Beijing
FEB12_END = datetime(2027, 2, 12, 16, tzinfo=UTC)


def _open_review(sample, actors, clock, when, days):
    clock.set(when)
    case = sample.start_case("sample_review", "PK-JP-XC-01", actors["street"])
    sample.complete_task(case.tasks[0]["id"], actors["street"], apply_data(days=days))
    return sample.get_case(case.case_number, actors["street"])


def _rows(rt, case_id):
    with rt.uow() as s:
        return (s.scalars(select(Timer).where(Timer.case_id == case_id)).one(),
                s.scalars(select(HumanTask).where(HumanTask.case_id == case_id)).one())


def _events(rt, number):
    with rt.uow() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.chain == audit.case_chain(number))
                              .order_by(AuditEvent.seq)))


def test_a_2027_deadline_rests_on_the_statute_and_says_so(sample, actors, clock):
    case = _open_review(sample, actors, clock, JAN21, 15)  # 02-05 除夕 … 02-08 初三 → 02-09
    timer, task = _rows(sample, case.id)
    assert timer.due_at == task.due_at == FEB09_END
    assert (timer.period_trigger, timer.period_days, timer.period_kind) == ("2027-01-21", 15, "review")
    assert (task.period_trigger, task.period_days) == ("2027-01-21", 15)
    assert "2027年国务院放假安排尚未收录" in timer.due_note and task.due_note == timer.due_note
    assert case.tasks[0]["due_note"] == task.due_note and case.timers[0]["due_note"] == timer.due_note
    assert sample.list_tasks(actors["cparty"])[0].due_note == task.due_note
    assert case.data["review_deadline"]["note"] == task.due_note


def test_loading_a_schedule_moves_a_pending_2027_deadline_and_audits_it(sample, actors, clock, cli, tmp_path):
    case = _open_review(sample, actors, clock, JAN21, 15)
    version, n_events = case.version, len(_events(sample, case.case_number))
    path = tmp_path / "2027.csv"
    path.write_text(SCHEDULE_2027, encoding="utf-8")

    dry = json.loads(cli("calendar", "load", path, "--dry-run", "--json").stdout)
    assert [(m["case_number"], m["what"], m["old_due"], m["new_due"], m["kept"]) for m in dry["moves"]] == [
        (case.case_number, "timer", FEB09_END.isoformat(), FEB12_END.isoformat(), False),
        (case.case_number, "task", FEB09_END.isoformat(), FEB12_END.isoformat(), False)]
    assert dry["stored"] is False and dry["cases_changed"] == []
    assert _rows(sample, case.id)[0].due_at == FEB09_END  # a dry run changes nothing
    assert len(_events(sample, case.case_number)) == n_events
    with sample.uow() as s:
        assert s.scalars(select(SettingVersion)).all() == []

    out = cli("calendar", "load", path, "--source", "国办发明电〔2026〕示例号", "--as", "admin").stdout
    assert "2027 年放假安排已加载为第 1 版" in out and "2027年2月9日 → 2027年2月12日" in out
    timer, task = _rows(sample, case.id)
    assert timer.due_at == task.due_at == FEB12_END and timer.due_note is None and task.due_note is None
    view = sample.get_case(case.case_number, actors["street"])
    assert view.version == version + 1
    assert view.data["review_deadline"]["due"] == FEB12_END.isoformat()
    assert view.data["review_deadline"]["last_day"] == "2027-02-12" and view.data["review_deadline"]["note"] == ""
    moved = [e for e in _events(sample, case.case_number) if e.action == "deadline_recounted"]
    assert len(moved) == 1 and moved[0].actor == "admin"
    assert json.loads(moved[0].data_before)["due"] == FEB09_END.isoformat()
    assert json.loads(moved[0].data_after) == {"due": FEB12_END.isoformat(), "note": None}
    assert json.loads(moved[0].detail)["schedules"] == {"2027": 1}
    with sample.uow() as s:
        assert all(r.ok for r in audit.verify(s))
        assert [e.action for e in s.scalars(select(AuditEvent).where(AuditEvent.chain.like("setting:holiday%")))] \
            == ["setting_changed"]

    # The timer now fires at the new time, not the old one.
    clock.set(FEB09_END.replace(hour=17))
    assert sample.run_due_timers("w") == 0
    clock.set(FEB12_END.replace(second=1))
    assert sample.run_due_timers("w") == 1

    # Loading the same arrangement again makes no new version and moves nothing.
    again = json.loads(cli("calendar", "load", path, "--source", "国办发明电〔2026〕示例号", "--json").stdout)
    assert again["stored"] is False and again["version"] == 1 and again["moves"] == []


def test_a_new_deadline_counted_after_loading_uses_the_schedule(sample, actors, clock, cli, tmp_path):
    path = tmp_path / "2027.csv"
    path.write_text(SCHEDULE_2027, encoding="utf-8")
    cli("calendar", "load", path)
    case = _open_review(sample, actors, clock, JAN21, 15)
    timer, task = _rows(sample, case.id)
    assert timer.due_at == FEB12_END and timer.due_note is None


@pytest.mark.parametrize("now,expected", [
    (datetime(2027, 2, 19, 2, tzinfo=UTC), datetime(2027, 2, 20, 16, tzinfo=UTC)),  # moves earlier
    (datetime(2027, 2, 21, 2, tzinfo=UTC), datetime(2027, 2, 22, 16, tzinfo=UTC)),  # already passed: kept
])
def test_a_due_date_never_moves_earlier_onto_a_passed_time(sample, actors, clock, cli, tmp_path, now, expected):
    # 10 days from 2027-02-10 end on Saturday 02-20: a rest day by the statute (→ Monday 02-22),
    # an adjusted working day (调休) by the loaded schedule.
    case = _open_review(sample, actors, clock, datetime(2027, 2, 10, 2, tzinfo=UTC), 10)
    assert _rows(sample, case.id)[0].due_at == datetime(2027, 2, 22, 16, tzinfo=UTC)
    clock.set(now)  # the runtime's clock: the command line runs on the system clock
    result = sample.load_holiday_schedule(SCHEDULE_2027, actors["admin"])
    timer, task = _rows(sample, case.id)
    assert timer.due_at == task.due_at == expected
    kept = expected.day == 22
    assert [m.kept for m in result.report.moves] == [kept, kept]
    assert result.report.cases_changed == ([] if kept else [case.case_number])
    assert ("不提前" in result.report.moves[0].line_zh()) is kept


@pytest.mark.parametrize("line,message", [
    ("2027-02-30,休,春节", "第22行：日期「2027-02-30」不存在或格式不对（应为 YYYY-MM-DD）"),
    ("2027-04-05,休,清明节", "第22行：2027-04-05 与第14行重复"),
    ("2027-02-06,班,调休", "第22行：2027-02-06 在第7行已列为休息日，不能同时是调休上班日"),
])
def test_a_bad_schedule_file_is_refused_with_line_numbers_and_changes_nothing(
        sample, actors, clock, cli, tmp_path, line, message):
    case = _open_review(sample, actors, clock, JAN21, 15)
    n_events = len(_events(sample, case.case_number))
    path = tmp_path / "bad.csv"
    path.write_text(SCHEDULE_2027 + line + "\n", encoding="utf-8")
    res = cli("calendar", "load", path, code=2)
    assert message in res.output
    assert _rows(sample, case.id)[0].due_at == FEB09_END
    assert len(_events(sample, case.case_number)) == n_events
    with sample.uow() as s:
        assert s.scalars(select(SettingVersion)).all() == []
        assert s.scalars(select(AuditEvent).where(AuditEvent.chain.like("setting:%"))).all() == []


def test_other_bad_inputs(sample, actors, cli, tmp_path):
    assert "文件不存在" in cli("calendar", "load", tmp_path / "missing.csv", code=2).output
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes(SCHEDULE_2027.encode("gb18030"))
    assert "UTF-8" in cli("calendar", "load", gbk, code=2).output
    good = tmp_path / "2027.csv"
    good.write_text(SCHEDULE_2027, encoding="utf-8")
    assert "仅系统管理员" in cli("calendar", "load", good, "--as", "street", code=2).output
    with pytest.raises(Forbidden):
        sample.recount_deadlines(actors["street"])
    with pytest.raises(ValidationFailed):
        sample.load_holiday_schedule("日期,类别,名称\n2027-01-01,休,元旦\n", actors["admin"])
    with sample.uow() as s:
        assert s.scalars(select(SettingVersion)).all() == []


def test_show_says_which_source_each_year_uses(cli, tmp_path):
    out = json.loads(cli("calendar", "show", "--json").stdout)
    assert [(o["year"], o["source"]) for o in out] == [
        (2025, "package"), (2026, "package"), (2027, "statute"), (2028, "statute"), (2029, "statute")]
    y2027 = json.loads(cli("calendar", "show", "2027", "--json").stdout)
    assert y2027["weekday_rest_days"][:2] == ["2027-01-01", "2027-02-05"] and y2027["weekend_working_days"] == []
    path = tmp_path / "2027.csv"
    path.write_text(SCHEDULE_2027, encoding="utf-8")
    cli("calendar", "load", path, "--source", "示例通知")
    text = cli("calendar", "show", "2027").stdout
    assert "2027 年：已加载的国务院放假安排（第 1 版，示例通知）" in text and "周末调休上班：2027-02-20" in text
    assert "v1" in cli("calendar", "history", "2027").stdout
    assert "尚未加载" in cli("calendar", "history", "2028").stdout
    cli("calendar", "show", "99999", code=2)


def test_a_recount_refused_by_an_invariant_leaves_that_case_and_is_audited(sample, actors, clock):
    from engine.runtime import invariants as inv

    case = _open_review(sample, actors, clock, JAN21, 15)
    other = _open_review(sample, actors, clock, JAN21, 15)
    saved = dict(inv._REGISTRY)
    # A rule that (for this test) refuses any review deadline after 2027-02-10 on the first case.
    inv.invariants("sample_review", inv.Invariant(
        "due_cap", "审查期限不晚于2月10日",
        lambda data, events: "审查期限晚于2月10日" if data.get("case_number") == case.case_number
        and (data.get("review_deadline") or {}).get("due", "") > "2027-02-10" else None))
    try:
        result = sample.load_holiday_schedule(SCHEDULE_2027, actors["admin"])
    finally:
        inv._REGISTRY.clear()
        inv._REGISTRY.update(saved)
    assert result.report.cases_changed == [other.case_number]
    assert "审查期限晚于2月10日" in result.report.cases_failed[case.case_number]
    assert _rows(sample, case.id)[0].due_at == FEB09_END and _rows(sample, other.id)[0].due_at == FEB12_END
    assert [e.action for e in _events(sample, case.case_number)][-1] == "refused:recount_deadlines"
