"""hongwu case … / task …"""
from __future__ import annotations

import typer

from . import _common

case_app = typer.Typer(help="案件（流程实例）", no_args_is_help=True)
task_app = typer.Typer(help="待办任务", no_args_is_help=True)


def _fmt_due(d) -> str:
    return d[:16].replace("T", " ") if d else "-"


@case_app.command("start")
def case_start(key: str = typer.Argument(..., help="流程 key，例如 committee_election"),
               compound: str = typer.Option(..., "--compound", help="小区编码"),
               data: str | None = typer.Option(None, "--data", help="JSON 或 @文件"),
               as_user: str | None = typer.Option(None, "--as", help="以该用户身份"),
               as_json: bool = typer.Option(False, "--json")) -> None:
    """发起新案件。"""
    payload = _common.read_json_arg(data)
    actor = _common.actor(as_user)
    with _common.errors_exit():
        view = _common.runtime().start_case(key, compound, actor, payload)
    d = view.as_dict()
    _common.emit(d, as_json, f"{view.case_number} {view.status} · " + ", ".join(t["title"] for t in d["tasks"]))


@case_app.command("list")
def case_list(process: str | None = typer.Option(None, "--process"),
              status: str | None = typer.Option(None, "--status"),
              as_user: str | None = typer.Option(None, "--as"),
              limit: int = typer.Option(50, "--limit"),
              search: str | None = typer.Option(None, "--search", "-q",
                                                   help="搜索：案件编号（部分）、小区、标题、当事人或候选人姓名、事项"),
              as_json: bool = typer.Option(False, "--json")) -> None:
    """列出案件（最新的在前）。"""
    actor = _common.actor(as_user)
    with _common.errors_exit():
        views = _common.runtime().list_cases(actor, process, status, limit=limit, query=search)
    rows = [v.as_dict() for v in views]
    _common.emit(rows, as_json, "\n".join(
        f"{r['case_number']}\t{r['status']}\t{r['compound_name']}\t{r['title']}" for r in rows) or "（无案件）")


@case_app.command("advance-clock")
def case_advance_clock(case: str = typer.Argument(..., help="案件编号"),
                       days: int = typer.Option(..., "--days", help="前进天数（1～366）"),
                       reason: str = typer.Option(..., "--reason", help="原因（记入审计）"),
                       as_user: str | None = typer.Option(None, "--as", help="以该用户身份（须为系统管理员）"),
                       as_json: bool = typer.Option(False, "--json")) -> None:
    """培训环境：模拟案件时间前进 N 天，期间到期的期限依次处理（非培训数据库拒绝）。"""
    actor = _common.actor(as_user)
    with _common.errors_exit():
        view = _common.runtime().advance_case_clock(case, actor, days, reason)
    d = view.as_dict()
    _common.emit(d, as_json, f"{view.case_number} 已模拟前进 {days} 天 · " +
                 (", ".join(t["title"] for t in d["tasks"]) or view.status))


@case_app.command("reindex")
def case_reindex(as_json: bool = typer.Option(False, "--json")) -> None:
    """重建全部案件的搜索索引（升级后一次即可；平时随每次保存自动更新）。"""
    with _common.errors_exit():
        n = _common.runtime().reindex_search()
    _common.emit({"reindexed": n}, as_json, f"已重建 {n} 件案件的搜索索引")


@case_app.command("show")
def case_show(case: str = typer.Argument(...), as_user: str | None = typer.Option(None, "--as"),
              as_json: bool = typer.Option(False, "--json")) -> None:
    """显示案件详情：状态、当前任务、计时器与数据。"""
    actor = _common.actor(as_user)
    from engine.views.cases import mark_unstaffed

    rt = _common.runtime()
    with _common.errors_exit():
        d = rt.get_case(case, actor).as_dict()
    mark_unstaffed(rt, d)
    lines = [f"{d['case_number']} {d['title']} [{d['status']}] v{d['version']}"]
    lines += [f"  任务 {t['id']} {t['title']} ({t['role']}) 期限 {_fmt_due(t['due_at'])}"
              + ("  待配置办理人员" if t["unstaffed"] else "") for t in d["tasks"]]
    lines += [f"  计时 {t['name']} {_fmt_due(t['due_at'])}" for t in d["timers"]]
    _common.emit(d, as_json, "\n".join(lines))


@task_app.command("list")
def task_list(as_user: str | None = typer.Option(None, "--as"),
              process: str | None = typer.Option(None, "--process"),
              limit: int = typer.Option(50, "--limit"),
              scope: str = typer.Option("all", "--scope", help="all 本岗位全部 / mine 我的待办 / pool 岗位待办"),
              as_json: bool = typer.Option(False, "--json")) -> None:
    """列出待办任务（按角色与辖区）。"""
    actor = _common.actor(as_user)
    with _common.errors_exit():
        tasks = [t.as_dict() for t in _common.runtime().list_tasks(actor, process, limit=limit, scope=scope)]
    _common.emit(tasks, as_json, "\n".join(
        f"{t['id']}\t{t['case_number']}\t{t['title']}\t{t['role']}\t期限 {_fmt_due(t['due_at'])}" for t in tasks) or "（无待办）")


@task_app.command("show")
def task_show(task: str = typer.Argument(...), as_user: str | None = typer.Option(None, "--as"),
              as_json: bool = typer.Option(True, "--json/--text")) -> None:
    """显示任务及其表单（JSON Schema）。"""
    actor = _common.actor(as_user)
    with _common.errors_exit():
        info = _common.runtime().get_task(task, actor)
    _common.emit(info, as_json)


@task_app.command("complete")
def task_complete(task: str = typer.Argument(...), as_user: str = typer.Option(..., "--as"),
                  data: str | None = typer.Option(None, "--data", help="JSON 或 @文件"),
                  version: int | None = typer.Option(None, "--version", help="期望的案件版本（乐观锁）"),
                  as_json: bool = typer.Option(False, "--json")) -> None:
    """办理任务：按表单校验数据，推进流程。"""
    payload = _common.read_json_arg(data)
    actor = _common.actor(as_user)
    with _common.errors_exit():
        view = _common.runtime().complete_task(task, actor, payload, version)
    d = view.as_dict()
    _common.emit(d, as_json, f"{view.case_number} {view.status} v{view.version} · " +
                 (", ".join(t["title"] for t in d["tasks"]) or "无待办"))


@case_app.command("attach")
def case_attach(case: str = typer.Argument(...), file: str = typer.Argument(..., help="要上传的文件"),
                as_user: str | None = typer.Option(None, "--as"),
                as_json: bool = typer.Option(False, "--json")) -> None:
    """上传附件（名册、选票、会议记录等），输出可填入表单的附件引用。"""
    from pathlib import Path

    from engine.runtime.documents import attach_to_case

    path = Path(file)
    if not path.is_file():
        _common.fail(f"no such file: {path}")
    actor = _common.actor(as_user)
    with _common.errors_exit():
        ref = attach_to_case(_common.runtime(), case, actor, path.name, path.read_bytes())
    _common.emit(ref, as_json, __import__("json").dumps(ref, ensure_ascii=False))


def register(app: typer.Typer) -> None:
    app.add_typer(case_app, name="case")
    app.add_typer(task_app, name="task")
