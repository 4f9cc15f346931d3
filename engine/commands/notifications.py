"""hongwu notifications list / read / scan / send-outbox."""
from __future__ import annotations

import os
import socket

import typer

from . import _common

notifications_app = typer.Typer(help="通知：站内通知、待发消息（邮件等）", no_args_is_help=True)


def _service():
    from engine.notifications.service import Notifications

    return Notifications(_common.runtime())


@notifications_app.command("list")
def notifications_list(as_user: str = typer.Option(..., "--as", help="用户名"),
                       unread: bool = typer.Option(False, "--unread", help="只列未读"),
                       limit: int = typer.Option(50, "--limit", min=1, max=500),
                       as_json: bool = typer.Option(False, "--json")) -> None:
    """列出某用户的站内通知（最新在前）。"""
    actor = _common.actor(as_user)
    with _common.errors_exit():
        rows = [n.as_dict() for n in _service().listing(actor, unread, limit)]
    _common.emit(rows, as_json, "\n".join(
        f"{n['id']}\t{'  ' if n['read'] else '未读'}\t{n['kind_zh']}\t{n['title']}" for n in rows) or "（没有通知）")


@notifications_app.command("read")
def notifications_read(as_user: str = typer.Option(..., "--as", help="用户名"),
                       ids: list[str] | None = typer.Argument(None, help="通知编号；缺省则全部标为已读"),
                       as_json: bool = typer.Option(False, "--json")) -> None:
    """把通知标为已读。"""
    actor = _common.actor(as_user)
    with _common.errors_exit():
        n = _service().mark_read(actor, ids or None)
    _common.emit({"read": n}, as_json, f"已标为已读 {n} 条")


@notifications_app.command("scan")
def notifications_scan(as_json: bool = typer.Option(False, "--json")) -> None:
    """检查即将到期和已超期的待办并发出通知，生成每日摘要（worker 会定时执行）。"""
    with _common.errors_exit():
        report = _service().scan()
    _common.emit(report, as_json, f"到期提醒 {report['announced']} 件，每日摘要 {report['digests']} 封")


@notifications_app.command("send-outbox")
def send_outbox(batch: int = typer.Option(50, "--batch", min=1, max=1000),
                as_json: bool = typer.Option(False, "--json")) -> None:
    """发送待发消息（邮件等）；失败的按退避间隔重试，达到次数上限后标为失败。"""
    from engine.notifications.senders import configured_senders

    svc = _service()
    with _common.errors_exit():
        try:
            senders = configured_senders()
        except (ValueError, ImportError, AttributeError, TypeError) as exc:
            _common.fail(f"发送通道配置有误 sender configuration: {exc}")
        if not senders:
            typer.echo("提示：未配置任何发送通道（设置 HONGWU_SMTP_URL 以发送邮件），待发消息保持待发", err=True)
        result = svc.send_outbox(f"cli:{socket.gethostname()}:{os.getpid()}", senders, batch)
        counts = svc.outbox_counts()
    report = {**result.as_dict(), "outbox": counts}
    _common.emit(report, as_json, f"已发送 {result.sent}，待重试 {result.retrying}，失败 {result.failed}"
                 + "".join(f"\n  {e}" for e in result.errors))


def register(app: typer.Typer) -> None:
    app.add_typer(notifications_app, name="notifications")
