"""What people are told, by whom it was caused: new and unstaffed steps, the audit events of
claims, assignments, comments and case controls (as the other services record them), deadlines,
stuck cases — each once, and only with the change that caused it."""
import pytest
from sqlalchemy import select, update

from engine import audit
from engine.db.models import Case, HumanTask, User
from engine.db.notification_models import Notification
from tests.engine.support import apply_data
from tests.notifications.support import notes, who


def _to_review(sample, actors, days=7):
    case = sample.start_case("sample_review", "PK-JP-XC-01", actors["street"])
    return sample.complete_task(case.tasks[0]["id"], actors["street"], apply_data(amount=5000, days=days))


def test_new_step_tells_its_pool_in_the_jurisdiction(sample, actors):
    case = sample.start_case("sample_review", "PK-JP-XC-01", actors["street"])
    assert who(sample, "task_ready") == ["street"]  # the street's staff; not the party committee
    case = sample.complete_task(case.tasks[0]["id"], actors["street"], apply_data(amount=5000))
    # 社区党组织 of 先锋社区 (PK-JP-XC) only; the admin and other communities are not told.
    assert who(sample, "task_ready") == ["cparty", "street"]
    (u, kind, title), = notes(sample, "cparty")
    assert kind == "task_ready" and case.case_number in title and "党组织审查" in title


def test_unstaffed_step_tells_street_supervisors_and_admins(sample, actors):
    with sample.uow() as s:
        s.execute(update(User).where(User.username == "cparty").values(active=False))
    case = _to_review(sample, actors)
    assert who(sample, "step_unstaffed") == ["admin", "sparty", "street"]
    assert notes(sample, "cparty") == []
    (_, _, title), = notes(sample, "admin")
    assert title.startswith("无人办理") and case.case_number in title


def _event(rt, case_number, action, actor, detail, task_id=None, fail=False):
    with rt.uow() as s:
        case = s.scalar(select(Case).where(Case.case_number == case_number))
        audit.append(s, chain=audit.case_chain(case_number), case_id=case.id, actor=actor, action=action,
                     now=rt.now(), task_id=task_id, detail=detail)
        if fail:
            raise RuntimeError("the change is refused after the event was appended")


def test_assignment_tells_the_assignee_with_the_reason(sample, actors):
    case = _to_review(sample, actors)
    task_id = case.tasks[0]["id"]
    _event(sample, case.case_number, "task_assigned", "sparty", {"task_id": task_id, "assignee": "cparty",
                                                                  "reason": "请刘书记本周内审查"})
    (u, kind, title), = notes(sample, "cparty", "task_assigned")
    assert title.startswith("指派给我") and u == "cparty"
    with sample.uow() as s:
        body = s.scalar(select(Notification.body).where(Notification.kind == "task_assigned"))
    assert "理由：请刘书记本周内审查" in body and "sparty" in body
    _event(sample, case.case_number, "task_delegated", "cparty", {"task_id": task_id, "assignee": "community",
                                                                   "reason": "出差"})
    assert [t for _, _, t in notes(sample, "community", "task_assigned")][0].startswith("转交给我")


def test_a_refused_change_leaves_no_notification(sample, actors):
    case = _to_review(sample, actors)
    before = notes(sample)
    with pytest.raises(RuntimeError):
        _event(sample, case.case_number, "task_assigned", "sparty",
               {"task_id": case.tasks[0]["id"], "assignee": "cparty", "reason": "x"}, fail=True)
    assert notes(sample) == before


def test_release_returns_the_step_to_the_rest_of_the_pool(sample, actors):
    case = _to_review(sample, actors)
    with sample.uow() as s:  # a second 社区党组织 account in the same community
        s.add(User(username="cparty2", display_name="钱委员", role="community_party_org", active=True,
                   jurisdiction_id=s.get(User, actors["cparty"].user_id).jurisdiction_id, created_at=sample.now()))
    task_id = case.tasks[0]["id"]
    _event(sample, case.case_number, "task_claimed", "cparty", {"task_id": task_id, "user": "cparty"})
    _event(sample, case.case_number, "task_released", "cparty", {"task_id": task_id, "user": "cparty"})
    assert who(sample, "task_returned") == ["cparty2"]


def test_mentions_tell_active_users_once_and_not_the_writer(sample, actors):
    case = _to_review(sample, actors)
    detail = {"comment_id": 7, "task_id": None, "mentions": ["cparty", "street", "nobody", "street"]}
    _event(sample, case.case_number, "comment_added", "street", detail)
    _event(sample, case.case_number, "comment_added", "street", detail)  # the same comment again
    assert who(sample, "mentioned") == ["cparty"]
    assert len(notes(sample, "cparty", "mentioned")) == 1


def test_case_controls_tell_who_works_on_the_case(sample, actors):
    case = _to_review(sample, actors)
    _event(sample, case.case_number, "case_suspended", "sparty", {"reason": "业主提出异议，暂停"})
    assert who(sample, "case_control") == ["admin", "cparty", "street"]  # not sparty, who did it


def test_claimed_step_deadlines_go_to_the_holder_and_overdue_to_the_street(sample, actors, clock, service):
    case = _to_review(sample, actors, days=7)  # due 2026-11-30 24:00 Beijing time
    task_id = case.tasks[0]["id"]
    sample.claim_task(task_id, actors["cparty"])
    assert service.scan()["announced"] == 0
    clock.advance(days=8, hours=14)  # 2026-11-30 00:00 Beijing: the last day begins
    assert service.scan()["announced"] == 1
    assert who(sample, "task_due_soon") == ["cparty"]
    assert service.scan()["announced"] == 0  # once per task per kind
    clock.advance(days=1, seconds=1)
    with sample.uow() as s:  # the timer has not fired yet (no worker ran): the step is overdue
        assert s.get(HumanTask, task_id) is not None
    assert service.scan()["announced"] == 1
    assert who(sample, "task_overdue") == ["admin", "cparty", "sparty", "street"]
    assert service.scan()["announced"] == 0
    assert len(notes(sample, "cparty")) == 3  # ready, due soon, overdue


def test_two_scanners_announce_once(sample, actors, clock, service):
    from engine.notifications.service import Notifications
    from tests.conftest import make_runtime

    _to_review(sample, actors)
    clock.advance(days=12)
    other = Notifications(make_runtime(sample.settings.database_url, clock))
    assert service.scan()["announced"] + other.scan()["announced"] == 1
    assert len(notes(sample, "cparty", "task_overdue")) == 1


def test_muted_kinds_are_not_received(sample, actors, service, clock):
    service.save_preferences(actors["cparty"], muted=["task_due_soon"], email="", email_each=False, daily_digest=False)
    _to_review(sample, actors)
    clock.advance(days=8, hours=14)
    service.scan()
    assert notes(sample, "cparty", "task_due_soon") == []
    assert notes(sample, "cparty", "task_ready") != []


def test_stuck_case_tells_the_admins(sample, actors, clock):
    case = _to_review(sample, actors)
    with sample.uow() as s:  # what a bad save leaves behind: running, nothing to do, nothing to wait for
        s.execute(HumanTask.__table__.delete())
        from engine.db.models import Timer
        s.execute(Timer.__table__.delete())
    assert sample.resume_stuck_cases("w") == []
    assert who(sample, "case_stuck") == ["admin"]
    sample.resume_stuck_cases("w")  # the next worker start: not again
    assert len(notes(sample, "admin", "case_stuck")) == 1
    (_, _, title), = notes(sample, "admin", "case_stuck")
    assert case.case_number in title


def test_notification_counts_and_mark_read(sample, actors, service):
    _to_review(sample, actors)
    cparty = actors["cparty"]
    assert service.unread_count(cparty) == 1
    (n,) = service.listing(cparty)
    with pytest.raises(Exception) as refused:
        service.mark_read(actors["street"], [n.id])  # someone else's
    assert "通知不存在" in refused.value.message_zh
    assert service.unread_count(cparty) == 1
    assert service.mark_read(cparty, [n.id]) == 1
    assert service.unread_count(cparty) == 0 and service.listing(cparty)[0].read
    assert service.mark_read(cparty, [n.id]) == 0  # again: nothing changes
    with sample.uow() as s:
        actions = [e.action for e in audit.chain_events(s, "user:cparty")]
    assert actions == ["notifications_read"]


@pytest.mark.parametrize("ids", [["x"], [-1], [True], [], ["1" * 20]])
def test_bad_ids_are_refused_in_chinese(sample, actors, service, ids):
    from engine.runtime.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as refused:
        service.mark_read(actors["cparty"], ids)
    assert refused.value.message_zh


def test_preferences_are_checked(service, actors):
    from engine.runtime.errors import ValidationFailed

    for kwargs in (dict(muted=["nonsense"], email="", email_each=False, daily_digest=False),
                   dict(muted=[], email="not-an-address", email_each=False, daily_digest=False),
                   dict(muted=[], email="", email_each=True, daily_digest=False),
                   dict(muted=[], email="a@" + "b" * 200 + ".cn", email_each=True, daily_digest=False)):
        with pytest.raises(ValidationFailed):
            service.save_preferences(actors["street"], **kwargs)
    assert service.preferences(actors["street"]).email == ""
    p = service.save_preferences(actors["street"], muted=["case_control"], email="wang@example.cn",
                                 email_each=True, daily_digest=True)
    assert (p.muted, p.email, p.email_each, p.daily_digest) == (["case_control"], "wang@example.cn", True, True)
