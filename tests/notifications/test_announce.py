"""One announcement to several people is written in one statement per table: each person's
outbox rows point at that person's own notification, and who muted the kind gets nothing."""
from sqlalchemy import event, select

from engine.db.notification_models import Notification, NotificationPreference, OutboxMessage
from engine.db.session import engine_for
from engine.notifications.notify import announce
from engine.notifications.recipients import Directory


def _prefs(s, now):
    s.add_all([
        NotificationPreference(username="u1", muted_kinds="[]", contacts='{"sms": "138-1", "email": "u1@x.cn"}',
                               instant_channels='["sms", "email"]', daily_digest=False, updated_at=now),
        NotificationPreference(username="u2", muted_kinds='["task_ready"]', contacts='{"sms": "138-2"}',
                               instant_channels='["sms"]', daily_digest=False, updated_at=now),
        NotificationPreference(username="u4", muted_kinds="[]", contacts='{"sms": "138-4"}',
                               instant_channels='["sms"]', daily_digest=False, updated_at=now),
    ])


def test_several_recipients_in_one_statement_each_outbox_row_with_its_own_notification(runtime, db_url):
    now = runtime.now()
    with runtime.uow() as s:
        _prefs(s, now)
    seen = []
    engine = engine_for(db_url)
    event.listen(engine, "before_cursor_execute", lambda *a: seen.append(a[2].split()[0:3]))
    try:
        with runtime.uow() as s:
            told = announce(s, kind="task_ready", recipients=["u4", "u1", "u2", "u3", "u1"], title="新待办", body="b",
                            now=now, case_id=None, task_id=None)
    finally:
        engine.dispatch.before_cursor_execute.clear()
    assert told == ["u1", "u3", "u4"]  # u2 muted the kind
    inserts = [w[2] for w in seen if w[:2] == ["INSERT", "INTO"]]
    assert inserts.count("notification_outbox") == 1
    if db_url.startswith("postgresql"):  # SQLite keeps the ids' order only row by row (no round trips there)
        assert inserts.count("notification") == 1
    with runtime.uow() as s:
        notes = {n.id: n.username for n in s.scalars(select(Notification))}
        sent = sorted((notes[m.notification_id], m.username, m.channel, m.address) for m in s.scalars(select(OutboxMessage)))
    assert sorted(notes.values()) == ["u1", "u3", "u4"]
    assert sent == [("u1", "u1", "email", "u1@x.cn"), ("u1", "u1", "sms", "138-1"), ("u4", "u4", "sms", "138-4")]


def test_a_directory_brings_the_choices_of_the_people_it_reads(runtime):
    with runtime.uow() as s:
        s.add(NotificationPreference(username="cparty", muted_kinds='["task_ready"]', contacts="{}",
                                     instant_channels="[]", daily_digest=False, updated_at=runtime.now()))
    with runtime.uow() as s:
        directory = Directory(s, {"community_party_org"})
        assert "task_ready" in directory.choices["cparty"].muted
        assert all(not c.muted for u, c in directory.choices.items() if u != "cparty")
