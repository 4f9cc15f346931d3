"""hongwu task claim/release/assign/delegate, hongwu case comment/comments and the supervisor
controls: hongwu case cancel/suspend/resume/reopen/reschedule-timer. Each calls one service
method; errors exit with the Chinese reason."""
from __future__ import annotations

import typer

from . import _common
from .cases import case_app, task_app


def _held(d: dict, task: str) -> str:
    if not d or not d.get("holder"):
        return f"{task} 已退回岗位待办"
    return f"{task} 由 {d['holder_name']}（{d['holder']}）{d['kind_zh']}办理"


@task_app.command("claim")
def task_claim(task: str = typer.Argument(...), as_user: str = typer.Option(..., "--as"),
               as_json: bool = typer.Option(False, "--json")) -> None:
    """认领：把本岗位的任务领到自己名下。"""
    actor = _common.actor(as_user)
    with _common.errors_exit():
        d = _common.runtime().claim_task(task, actor)
    _common.emit(d, as_json, _held(d, task))


@task_app.command("release")
def task_release(task: str = typer.Argument(...), as_user: str = typer.Option(..., "--as"),
                 as_json: bool = typer.Option(False, "--json")) -> None:
    """退回岗位：本人或上级把任务放回岗位待办。"""
    actor = _common.actor(as_user)
    with _common.errors_exit():
        _common.runtime().release_task(task, actor)
    _common.emit({"holder": None}, as_json, _held({}, task))


@task_app.command("assign")
def task_assign(task: str = typer.Argument(...), to: str = typer.Option(..., "--to", help="接收人用户名"),
                reason: str | None = typer.Option(None, "--reason", help="原因"),
                delegate: bool = typer.Option(False, "--delegate", help="转办（须填 --reason）"),
                as_user: str = typer.Option(..., "--as", help="上级（街道工作人员、管理员或该岗位的上级组织）"),
                as_json: bool = typer.Option(False, "--json")) -> None:
    """指派或转办任务给本辖区在岗的该岗位用户。"""
    actor = _common.actor(as_user)
    rt = _common.runtime()
    with _common.errors_exit():
        d = rt.delegate_task(task, actor, to, reason) if delegate else rt.assign_task(task, actor, to, reason)
    _common.emit(d, as_json, _held(d, task))


@case_app.command("comment")
def case_comment(case: str = typer.Argument(..., help="案件编号"),
                 text: str = typer.Option(..., "--text", help="意见内容，可用 @用户名 提及"),
                 task: str | None = typer.Option(None, "--task", help="针对的当前步骤（任务 ID）"),
                 as_user: str = typer.Option(..., "--as"), as_json: bool = typer.Option(False, "--json")) -> None:
    """对案件（或其当前步骤）发表意见。"""
    actor = _common.actor(as_user)
    with _common.errors_exit():
        d = _common.runtime().add_comment(case, actor, text, task)
    mentioned = f"，提及 {'、'.join(d['mention_names'])}" if d["mentions"] else ""
    _common.emit(d, as_json, f"已发表意见 #{d['id']}{mentioned}")


@case_app.command("comments")
def case_comments(case: str = typer.Argument(...), as_user: str | None = typer.Option(None, "--as"),
                  as_json: bool = typer.Option(False, "--json")) -> None:
    """列出案件的意见。"""
    actor = _common.actor(as_user)
    with _common.errors_exit():
        rows = _common.runtime().list_comments(case, actor)
    _common.emit(rows, as_json, "\n".join(f"{r['created_at'][:16]} {r['author_name']}：{r['body']}" for r in rows)
                 or "（无意见）")


def _control(method: str, done_zh: str):
    def command(case: str = typer.Argument(..., help="案件编号"),
                reason: str = typer.Option(..., "--reason", help="原因（必填，记入审计）"),
                version: int | None = typer.Option(None, "--version", help="期望的案件版本（乐观锁）"),
                as_user: str = typer.Option(..., "--as", help="街道工作人员或系统管理员"),
                as_json: bool = typer.Option(False, "--json")) -> None:
        actor = _common.actor(as_user)
        with _common.errors_exit():
            view = getattr(_common.runtime(), method)(case, actor, reason, version)
        d = view.as_dict()
        steps = ", ".join(t["title"] for t in d["tasks"]) or view.status
        _common.emit(d, as_json, f"{view.case_number} {done_zh} · {steps}")
    return command


for _name, _method, _done, _help in (
        ("cancel", "cancel_case", "已撤销", "撤销案件（误立等）：当前步骤与期限一并取消，历史保留。"),
        ("suspend", "suspend_case", "已暂停", "暂停案件：期限不再触发，任务不能办理。"),
        ("resume", "resume_case", "已恢复", "恢复已暂停的案件。"),
        ("reopen", "reopen_step", "已重新打开上一步骤", "重新打开最近办理的步骤（办理有误时补救，历史保留）。")):
    case_app.command(_name, help=_help)(_control(_method, _done))


@case_app.command("reschedule-timer")
def case_reschedule_timer(case: str = typer.Argument(..., help="案件编号"),
                          timer: str = typer.Argument(..., help="期限（计时器）ID，见 hongwu case show"),
                          due: str = typer.Option(..., "--due", help="新的期限：日期（当日 24:00 届满）"),
                          reason: str = typer.Option(..., "--reason", help="原因（必填，记入审计）"),
                          version: int | None = typer.Option(None, "--version"),
                          as_user: str = typer.Option(..., "--as", help="街道工作人员或系统管理员"),
                          as_json: bool = typer.Option(False, "--json")) -> None:
    """调整等待中的期限。"""
    actor = _common.actor(as_user)
    with _common.errors_exit():
        view = _common.runtime().reschedule_timer(case, timer, actor, due, reason, version)
    d = view.as_dict()
    timers = "、".join(f"{t['name']} {t['due_at'][:16]}" for t in d["timers"])
    _common.emit(d, as_json, f"{view.case_number} 期限已调整 · {timers}")


def register(app: typer.Typer) -> None:
    """The commands above join `hongwu case` and `hongwu task` (registered by engine.commands.cases)."""
