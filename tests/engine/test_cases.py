"""Start, complete, branch and timer paths of the sample process through the service layer."""
import pytest
from sqlalchemy import func, select, text

from engine import audit
from engine.db.models import Case, HumanTask, OrgUnit, Timer
from engine.runtime.errors import Conflict, Forbidden, NotFound, ValidationFailed
from tests.engine.support import apply_data


def _events(rt, case_number):
    with rt.uow() as s:
        return [(e.action, e.actor) for e in audit.chain_events(s, audit.case_chain(case_number))]


def test_small_amount_ends_without_review(sample, actors):
    case = sample.start_case("sample_review", "PK-JP-XC-01", actors["street"], {"source": "test"})
    assert case.status == "running" and [t["name"] for t in case.tasks] == ["apply"]
    done = sample.complete_task(case.tasks[0]["id"], actors["street"], apply_data(amount=100))
    assert done.status == "completed" and done.completed_at is not None
    assert done.data["large"] is False
    assert [a for a, _ in _events(sample, case.case_number)] == ["case_started", "task_completed", "case_completed"]
    with sample.uow() as s:
        assert s.scalar(select(func.count()).select_from(HumanTask)) == 0


def test_large_amount_goes_to_party_review_with_lawful_due_date(sample, actors):
    case = sample.start_case("sample_review", "PK-JP-XC-01", actors["street"])
    case = sample.complete_task(case.tasks[0]["id"], actors["street"], apply_data(amount=5000, days=7))
    assert [t["name"] for t in case.tasks] == ["review"]
    # Started Sat 2026-11-21; 7 days → Sat 11-28, a rest day → Mon 11-30; ends 24:00 Beijing time.
    assert case.tasks[0]["due_at"] == "2026-11-30T16:00:00+00:00"
    assert case.timers[0]["due_at"] == "2026-11-30T16:00:00+00:00"
    inbox = sample.list_tasks(actors["cparty"])
    assert [t.case_number for t in inbox] == [case.case_number]
    assert sample.list_tasks(actors["street"]) == []
    done = sample.complete_task(inbox[0].id, actors["cparty"], {"decision": "agree"})
    assert done.status == "completed" and "escalated" not in done.data
    with sample.uow() as s:
        assert s.scalar(select(func.count()).select_from(Timer)) == 0


def test_review_deadline_timer_escalates(sample, actors, clock):
    case = sample.start_case("sample_review", "PK-JP-XC-01", actors["street"])
    sample.complete_task(case.tasks[0]["id"], actors["street"], apply_data(amount=5000, days=7))
    clock.advance(days=9, hours=13)  # 2026-11-30 15:00 UTC: still an hour before the deadline
    assert sample.run_due_timers("w") == 0
    clock.advance(hours=1, seconds=1)
    assert sample.run_due_timers("w") == 1
    view = sample.get_case(case.case_number, actors["street"])
    assert view.status == "completed" and view.data["escalated"] is True
    assert sample.list_tasks(actors["cparty"]) == []
    assert "timer_fired" in [a for a, _ in _events(sample, case.case_number)]
    assert sample.run_due_timers("w") == 0  # nothing left to fire


def test_timer_due_while_nothing_ran_fires_at_next_run(sample, actors, clock):
    case = sample.start_case("sample_review", "PK-JP-XC-01", actors["street"])
    sample.complete_task(case.tasks[0]["id"], actors["street"], apply_data(amount=5000, days=3))
    clock.advance(days=60)  # the worker was down for two months
    assert sample.run_due_timers() == 1
    assert sample.get_case(case.case_number, actors["street"]).data["escalated"] is True


def test_invalid_form_data_changes_nothing(sample, actors):
    case = sample.start_case("sample_review", "PK-JP-XC-01", actors["street"])
    before = _events(sample, case.case_number)
    with pytest.raises(ValidationFailed) as err:
        sample.complete_task(case.tasks[0]["id"], actors["street"], {"applicant": "", "amount": -5})
    fields = {d["field"] for d in err.value.details}
    assert fields == {"applicant", "amount", "review_days"}
    zh = " ".join(d["message_zh"] for d in err.value.details)
    assert "「审查期限（天）」为必填项" in zh and "「金额（元）」不能小于 0" in zh
    assert "review_days" in err.value.message
    after = sample.get_case(case.case_number, actors["street"])
    assert after.version == case.version and [t["id"] for t in after.tasks] == [case.tasks[0]["id"]]
    assert _events(sample, case.case_number) == before


def test_wrong_role_is_refused_and_audited(sample, actors):
    case = sample.start_case("sample_review", "PK-JP-XC-01", actors["street"])
    for who in ("cparty", "auditor"):
        with pytest.raises(Forbidden):
            sample.complete_task(case.tasks[0]["id"], actors[who], apply_data())
    events = _events(sample, case.case_number)
    assert events[-2:] == [("refused:complete_task", "cparty"), ("refused:complete_task", "auditor")]
    assert sample.get_case(case.case_number, actors["street"]).version == case.version
    with sample.uow() as s:
        assert all(r.ok for r in audit.verify(s))


def test_outside_jurisdiction_looks_like_unknown(sample, actors):
    case = sample.start_case("sample_review", "PK-JP-XC-01", actors["street"])
    with pytest.raises(NotFound):
        sample.get_case(case.case_number, actors["community2"])  # another community
    assert sample.list_cases(actors["community2"]) == []
    with pytest.raises(NotFound):
        sample.complete_task("00000000-0000-0000-0000-000000000000", actors["street"], {})
    with pytest.raises(Forbidden):
        sample.start_case("sample_review", "PK-JP-XC-01", actors["community2"])


def test_stale_version_is_a_conflict(sample, actors):
    case = sample.start_case("sample_review", "PK-JP-XC-01", actors["street"])
    with pytest.raises(Conflict):
        sample.complete_task(case.tasks[0]["id"], actors["street"], apply_data(), expected_version=case.version - 1)
    assert _events(sample, case.case_number)[-1] == ("refused:complete_task", "street")
    done = sample.complete_task(case.tasks[0]["id"], actors["street"], apply_data(), expected_version=case.version)
    assert done.version == case.version + 1
    with pytest.raises(Conflict) as late:  # a late submission is told who completed the task
        sample.complete_task(case.tasks[0]["id"], actors["street"], apply_data())
    assert "已由 street" in late.value.message_zh


def test_unknown_compound_and_process(sample, actors):
    with pytest.raises(NotFound):
        sample.start_case("sample_review", "NOPE", actors["street"])
    with pytest.raises(NotFound):
        sample.start_case("no_such_process", "PK-JP-XC-01", actors["street"])


def test_state_is_small_and_specless(sample, actors):
    case = sample.start_case("sample_review", "PK-JP-XC-01", actors["street"])
    sample.complete_task(case.tasks[0]["id"], actors["street"], apply_data())
    with sample.uow() as s:
        state = s.scalar(select(Case.state).where(Case.case_number == case.case_number))
    assert '"spec"' not in state and "task_specs" not in state
    assert len(state.encode()) < 15_000


def test_a_crashed_workers_claim_expires(sample, actors, clock):
    case = sample.start_case("sample_review", "PK-JP-XC-01", actors["street"])
    sample.complete_task(case.tasks[0]["id"], actors["street"], apply_data(amount=5000, days=1))
    clock.advance(days=5)
    claimed = sample.claim_due_timers("crashed", lease_seconds=120)
    assert len(claimed) == 1  # ... and the worker dies before firing it
    assert sample.run_due_timers("other") == 0  # the lease still holds
    clock.advance(seconds=121)
    assert sample.run_due_timers("other") == 1
    assert sample.fire_timer(claimed[0][0], "crashed") is False  # the dead worker's late attempt does nothing
    assert sample.get_case(case.case_number, actors["street"]).data["escalated"] is True


def test_inbox_orders_due_first_then_undated_and_pages(sample, actors, clock):
    street = actors["street"]
    numbers = []
    for _ in range(5):
        case = sample.start_case("sample_review", "PK-JP-XC-01", street)
        numbers.append(case.case_number)
        clock.advance(minutes=1)
    # Give three of them a due date (the review task of the large branch, as the party organisation).
    cparty = actors["cparty"]
    for n, days in zip(numbers[:3], (9, 3, 6), strict=True):
        t = [t for t in sample.list_tasks(street) if t.case_number == n][0]
        sample.complete_task(t.id, street, apply_data(amount=5000, days=days))
    inbox = sample.list_tasks(cparty)
    assert [t.case_number for t in inbox] == [numbers[1], numbers[2], numbers[0]]
    undated = [t.case_number for t in sample.list_tasks(street)]
    assert undated == numbers[3:]
    # Paging across the dated/undated boundary for the system actor (sees every role).
    system = type(street).system()
    everything = [t.id for t in sample.list_tasks(system, limit=50)]
    paged = [t.id for off in range(0, 5, 2) for t in sample.list_tasks(system, limit=2, offset=off)]
    assert paged == everything and len(everything) == 5
    assert sample.count_tasks(cparty) == 3


def test_every_task_list_is_the_page_of_a_plain_sort(sample, actors, clock):
    """list_tasks picks the page's ids before joining their cases: for every order, scope and
    filter (and pages across the dated/undated boundary) it returns exactly the rows a plain
    filter and sort of all open tasks gives."""
    street, cparty = actors["street"], actors["cparty"]
    for n, compound in enumerate(["PK-JP-XC-01", "PK-JP-XC-02", "PK-JP-WJ-01"] * 3):
        case = sample.start_case("sample_review", compound, street)
        if n % 3:  # two in three go on to the party's review, due in a varying number of days
            sample.complete_task(case.tasks[0]["id"], street, apply_data(amount=5000, days=1 + (n * 5) % 9))
        clock.advance(minutes=1)
    held = sample.list_tasks(street)[1]
    sample.claim_task(held.id, street)
    clock.advance(days=4)  # some are overdue now
    with sample.uow() as s:
        rows = s.execute(select(HumanTask, OrgUnit.code).join(OrgUnit, OrgUnit.id == HumanTask.compound_id)).all()
    now = clock.now()

    def expected(actor, order, scope, compound, overdue, limit, offset):
        ts = [t for t, code in rows if t.org_path.startswith(actor.jurisdiction_path) and t.role == actor.role
              and (compound is None or code == compound) and (not overdue or (t.due_at and t.due_at < now))
              and (scope == "all" or (t.id == held.id) == (scope == "mine"))]
        if order == "due":
            ts = sorted((t for t in ts if t.due_at), key=lambda t: (t.due_at, t.created_at, t.id)) + \
                sorted((t for t in ts if not t.due_at), key=lambda t: (t.created_at, t.id))
        else:
            ts = sorted(ts, key=lambda t: (t.created_at, t.id), reverse=order == "newest")
        return [t.id for t in ts[offset:offset + limit]]

    checked = 0
    for actor in (street, cparty):
        for order in ("due", "newest", "oldest"):
            for scope in ("all", "mine", "pool"):
                for compound in (None, "PK-JP-XC-02"):
                    for overdue in (False, True):
                        for limit, offset in ((50, 0), (2, 0), (2, 2), (3, 4)):
                            got = [t.id for t in sample.list_tasks(actor, None, compound, overdue, limit, offset,
                                                                   order, scope)]
                            assert got == expected(actor, order, scope, compound, overdue, limit, offset), \
                                (actor.username, order, scope, compound, overdue, limit, offset)
                            checked += bool(got)
    assert checked > 60  # most combinations are not empty


def test_postgresql_plans_every_run_for_its_own_jurisdiction(pg_url, clock):
    """psycopg prepares a statement run five times on a connection, and PostgreSQL would then plan
    it once for any parameters: `org_path LIKE $1 || '%'` could not use the prefix index and every
    inbox count would read all the tasks of a role in the city. Connections plan each run."""
    from tests.conftest import make_runtime

    rt = make_runtime(pg_url, clock)
    for _ in range(3):  # whichever pooled connection a unit of work gets
        with rt.uow() as s:
            assert s.execute(text("SHOW plan_cache_mode")).scalar() == "force_custom_plan"
