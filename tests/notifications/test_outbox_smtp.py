"""The outbox through a real SMTP server on 127.0.0.1 (aiosmtpd): Chinese subjects and bodies
arrive intact, a failing channel is retried with exponential back-off and then marked failed, and
nothing is sent twice — not by a second run, not by a second worker."""
from __future__ import annotations

import email
import socket
from datetime import UTC, timedelta
from email.header import decode_header, make_header
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller

from engine.notifications.senders import (
    Outgoing,
    SendFailed,
    SmtpSender,
    configured_senders,
    register_sender,
    unregister_sender,
)
from tests.engine.support import apply_data
from tests.notifications.support import outbox


class Mailbox:
    """An aiosmtpd handler that keeps what it receives; `refuse` answers the next N messages 451."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.refuse = 0

    async def handle_DATA(self, server, session, envelope):
        if self.refuse:
            self.refuse -= 1
            return "451 4.3.0 try again later"
        self.messages.append(email.message_from_bytes(envelope.original_content or envelope.content,
                                                      policy=default_policy))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp():
    box = Mailbox()
    port = _free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    box.url = f"smtp://127.0.0.1:{port}?from=notice@jp-street.example.cn"
    yield box
    controller.stop()


def _subject(msg) -> str:
    return str(make_header(decode_header(msg["Subject"])))


def _wants_email(service, actor, each=True, digest=False, address=None):
    service.save_preferences(actor, muted=[], email=address or f"{actor.username}@example.cn",
                             email_each=each, daily_digest=digest)


def _to_review(sample, actors):
    case = sample.start_case("sample_review", "PK-JP-XC-01", actors["street"])
    return sample.complete_task(case.tasks[0]["id"], actors["street"], apply_data(amount=5000, days=7))


def test_email_arrives_with_chinese_subject_and_body_and_is_sent_once(sample, actors, service, smtp):
    _wants_email(service, actors["cparty"])
    case = _to_review(sample, actors)
    senders = {"email": SmtpSender(smtp.url)}
    result = service.send_outbox("w1", senders)
    assert (result.sent, result.retrying, result.failed) == (1, 0, 0)
    (msg,) = smtp.messages
    assert msg["To"] == "cparty@example.cn" and "notice@jp-street.example.cn" in msg["From"]
    assert _subject(msg) == f"【红物·新待办】新待办：{case.case_number} 党组织审查"
    body = msg.get_content()
    assert "进入“党组织审查”步骤" in body and f"http://testserver/tasks/{case.tasks[0]['id']}" in body
    assert service.send_outbox("w1", senders).sent == 0  # a second run sends nothing
    assert service.send_outbox("w2", senders).sent == 0  # nor does another worker
    assert len(smtp.messages) == 1
    (row,) = outbox(sample)
    assert (row.status, row.attempts, row.sent_at) == ("sent", 1, sample.now())


def test_no_email_without_the_users_choice(sample, actors, service, smtp):
    _to_review(sample, actors)
    assert outbox(sample) == []
    assert service.send_outbox("w", {"email": SmtpSender(smtp.url)}).sent == 0 and smtp.messages == []


def test_refused_message_is_retried_with_back_off_then_sent(sample, actors, service, smtp, clock):
    _wants_email(service, actors["cparty"])
    _to_review(sample, actors)
    senders = {"email": SmtpSender(smtp.url)}
    smtp.refuse = 2
    assert service.send_outbox("w", senders).retrying == 1
    (row,) = outbox(sample)
    assert row.attempts == 1 and row.next_attempt_at == clock.now() + timedelta(minutes=1) and "451" in row.last_error
    assert service.send_outbox("w", senders).retrying == 0  # not before its time
    clock.advance(minutes=1)
    assert service.send_outbox("w", senders).retrying == 1
    (row,) = outbox(sample)
    assert row.attempts == 2 and row.next_attempt_at == clock.now() + timedelta(minutes=2)  # doubled
    clock.advance(minutes=2)
    assert service.send_outbox("w", senders).sent == 1
    assert len(smtp.messages) == 1 and outbox(sample)[0].status == "sent"


def test_unreachable_server_ends_failed_after_the_last_attempt(sample, actors, service, clock):
    _wants_email(service, actors["cparty"])
    _to_review(sample, actors)
    senders = {"email": SmtpSender(f"smtp://127.0.0.1:{_free_port()}")}  # nothing listens there
    delays = []
    for attempt in range(1, 6):
        result = service.send_outbox("w", senders, max_attempts=5)
        (row,) = outbox(sample)
        assert row.attempts == attempt
        if attempt < 5:
            assert result.retrying == 1 and row.status == "pending"
            delays.append(row.next_attempt_at - clock.now())
            clock.advance(seconds=delays[-1].total_seconds())
        else:
            assert result.failed == 1 and row.status == "failed" and "SMTP 127.0.0.1" in row.last_error
    assert delays == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    clock.advance(days=1)
    assert service.send_outbox("w", senders).as_dict() == {"sent": 0, "retrying": 0, "failed": 0, "errors": []}


def test_a_claimed_message_is_not_taken_by_another_worker(sample, actors, service, smtp, clock):
    from engine.notifications import outbox as delivery

    _wants_email(service, actors["cparty"])
    _to_review(sample, actors)
    with sample.uow() as s:
        assert len(delivery.claim(s, "w1", ["email"], clock.now(), 10)) == 1  # w1 holds it (then dies)
    senders = {"email": SmtpSender(smtp.url)}
    assert service.send_outbox("w2", senders).sent == 0
    clock.advance(minutes=6)  # w1's lease ran out
    assert service.send_outbox("w2", senders).sent == 1
    assert len(smtp.messages) == 1


def test_daily_digest_lists_unread_once_a_day(sample, actors, service, smtp, clock):
    _wants_email(service, actors["cparty"], each=False, digest=True)
    _to_review(sample, actors)
    assert outbox(sample) == []  # no message per notification
    senders = {"email": SmtpSender(smtp.url)}
    # START is 10:00 Beijing time: the digest of the day goes now, once.
    assert service.scan()["digests"] == 1
    assert service.scan()["digests"] == 0
    service.send_outbox("w", senders)
    (msg,) = smtp.messages
    assert "每日摘要" in _subject(msg) and "1 条未读通知" in _subject(msg)
    assert "〔新待办〕新待办：" in msg.get_content()
    clock.advance(days=1)
    service.mark_read(actors["cparty"], None)
    assert service.scan()["digests"] == 0  # nothing unread: no email
    assert len(outbox(sample)) == 1


class Collecting:
    """What a deployer's SMS or WeCom sender looks like to the outbox."""

    channel = "sms"

    def __init__(self):
        self.sent: list[Outgoing] = []

    def send(self, message: Outgoing) -> None:
        if "fail" in message.address:
            raise SendFailed("gateway said no")
        self.sent.append(message)


def test_a_deployer_adds_a_channel(sample, actors, service, monkeypatch):
    from engine.db.notification_models import NotificationPreference

    with sample.uow() as s:  # the deployer's own settings page would write this
        s.add(NotificationPreference(username="cparty", muted_kinds="[]", contacts='{"sms": "13800000000"}',
                                     instant_channels='["sms"]', daily_digest=False, updated_at=sample.now()))
    sms = Collecting()
    register_sender(sms)
    try:
        monkeypatch.delenv("HONGWU_SMTP_URL", raising=False)
        assert set(configured_senders()) == {"sms"}
        _to_review(sample, actors)
        assert service.send_outbox("w").sent == 1
    finally:
        unregister_sender("sms")
    (m,) = sms.sent
    assert m.address == "13800000000" and m.subject.startswith("【红物·新待办】")


def test_smtp_url_is_checked():
    for bad in ("http://x", "smtp://", "mail.example.cn:25"):
        with pytest.raises(ValueError):
            SmtpSender(bad)
    s = SmtpSender("smtps://user:p%40ss@mail.example.cn?from=a@example.cn")
    assert (s.host, s.port, s.tls, s.user, s.password, s.sender) == ("mail.example.cn", 465, True, "user", "p@ss",
                                                                     "a@example.cn")
    assert "p@ss" not in repr(s)


def test_cli_sends_the_outbox_and_lists(sample, actors, service, smtp, cli, monkeypatch):
    _wants_email(service, actors["cparty"])
    _to_review(sample, actors)
    out = cli("notifications", "list", "--as", "cparty").output
    assert "未读" in out and "新待办" in out
    monkeypatch.delenv("HONGWU_SMTP_URL", raising=False)
    assert "未配置任何发送通道" in cli("notifications", "send-outbox").output
    assert smtp.messages == []
    monkeypatch.setenv("HONGWU_SMTP_URL", smtp.url)
    assert "已发送 1" in cli("notifications", "send-outbox").output
    assert "已发送 0" in cli("notifications", "send-outbox").output
    assert len(smtp.messages) == 1
    monkeypatch.setenv("HONGWU_SMTP_URL", "http://wrong")
    assert "发送通道配置有误" in cli("notifications", "send-outbox", code=2).output
    import json

    (mine,) = json.loads(cli("notifications", "list", "--as", "cparty", "--json").output)
    assert "通知不存在" in cli("notifications", "read", "--as", "street", mine["id"], code=2).output
    assert "已标为已读 1 条" in cli("notifications", "read", "--as", "cparty", mine["id"]).output
    assert json.loads(cli("notifications", "list", "--as", "cparty", "--unread", "--json").output) == []


def test_worker_once_announces_overdue_steps_and_sends_them(sample, actors, service, smtp, cli, monkeypatch,
                                                           db_url):
    from datetime import datetime

    from sqlalchemy import update

    from engine.db.models import HumanTask
    from tests.conftest import START

    _wants_email(service, actors["cparty"])
    case = sample.start_case("sample_review", "PK-JP-XC-01", actors["street"])
    sample.complete_task(case.tasks[0]["id"], actors["street"], apply_data(amount=5000, days=7))
    with sample.uow() as s:  # the worker runs on the real clock: its timer stays ahead, its step is overdue
        from engine.db.models import Timer
        s.execute(update(Timer).values(due_at=datetime.now(UTC) + timedelta(days=365)))
        s.execute(update(HumanTask).values(due_at=START - timedelta(hours=1)))
    monkeypatch.setenv("HONGWU_SMTP_URL", smtp.url)
    cli("worker", "--once")  # real clock: the test's step is long overdue by then
    subjects = sorted(_subject(m) for m in smtp.messages)
    assert any("已超期" in s for s in subjects) and any("新待办" in s for s in subjects)
    cli("worker", "--once")
    assert len(smtp.messages) == len(subjects)  # nothing twice


def test_digest_waits_for_eight_oclock_beijing_time(sample, actors, service, clock):
    _wants_email(service, actors["cparty"], each=False, digest=True)
    clock.advance(hours=-3)  # 07:00 Beijing time
    _to_review(sample, actors)
    clock.advance(minutes=59)  # 07:59
    assert service.scan()["digests"] == 0
    clock.advance(minutes=1)  # 08:00
    assert service.scan()["digests"] == 1
    clock.advance(hours=23, minutes=59)  # 07:59 the next day: still unread, but not yet
    assert service.scan()["digests"] == 0
    clock.advance(minutes=1)
    assert service.scan()["digests"] == 1
