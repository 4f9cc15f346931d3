"""hongwu calendar … — the State Council's yearly holiday schedules (放假安排) as data, and the
recount of pending deadlines when one is loaded. File format: README, section 法定节假日."""
from __future__ import annotations

from pathlib import Path

import typer

from . import _common

calendar_app = typer.Typer(help="法定节假日安排（加载国务院年度放假安排、查看各年来源、重算未到期期限）",
                           no_args_is_help=True)


def _moves_text(report, dry_run: bool) -> str:
    lines = [m.line_zh() for m in report.moves]
    head = (f"将调整 {len(report.moved)} 个期限（试算，未作任何修改）：" if dry_run
            else f"已调整 {len(report.moved)} 个期限，涉及 {len(report.cases_changed)} 个案件：")
    if not report.moves:
        return "没有需要调整的期限"
    tail = [f"未能调整（请稍后重新执行 hongwu calendar recount）：{n} {why}" for n, why in report.cases_failed.items()]
    return "\n".join([head, *lines, *tail])


def _moves_json(report) -> list[dict]:
    return [{"case_number": m.case_number, "what": m.what, "id": m.row_id, "name": m.name,
             "old_due": m.old_due.isoformat(), "new_due": m.new_due.isoformat(), "old_note": m.old_note,
             "new_note": m.new_note, "kept": m.kept} for m in report.moves]


@calendar_app.command("load")
def load(file: Path = typer.Argument(..., help="放假安排 CSV 文件（UTF-8：日期,类别,名称）"),
         source: str = typer.Option("", "--source", help="依据，如国务院办公厅通知文号"),
         dry_run: bool = typer.Option(False, "--dry-run", help="只列出将调整的期限，不作修改"),
         as_user: str | None = typer.Option(None, "--as", help="管理员用户名（默认：系统）"),
         as_json: bool = typer.Option(False, "--json")) -> None:
    """检查并加载某一年的放假安排（新版本，留痕），再重算受影响的未到期期限。"""
    try:
        text = file.read_bytes().decode("utf-8")
    except FileNotFoundError:
        _common.fail(f"文件不存在 / no such file: {file}")
    except (UnicodeDecodeError, IsADirectoryError):
        _common.fail(f"文件须为 UTF-8 编码的 CSV / the file must be UTF-8 CSV: {file}")
    actor = _common.actor(as_user)
    rt = _common.runtime()
    with _common.errors_exit():
        result = rt.load_holiday_schedule(text, actor, source=source, dry_run=dry_run)
    sched = result.schedule
    if dry_run:
        head = f"{sched.year} 年放假安排检查通过（休息 {len(sched.holidays)} 天，调休上班 {len(sched.workdays)} 天），未加载"
    elif result.stored:
        head = f"{sched.year} 年放假安排已加载为第 {sched.version} 版"
    else:
        head = f"{sched.year} 年放假安排与已加载的第 {sched.version} 版相同，未新建版本"
    _common.emit({"year": sched.year, "version": sched.version, "stored": result.stored, "dry_run": dry_run,
                  "moves": _moves_json(result.report), "cases_changed": result.report.cases_changed,
                  "cases_failed": result.report.cases_failed},
                 as_json, head + "\n" + _moves_text(result.report, dry_run))


@calendar_app.command("recount")
def recount_cmd(dry_run: bool = typer.Option(False, "--dry-run", help="只列出将调整的期限，不作修改"),
                as_user: str | None = typer.Option(None, "--as", help="管理员用户名（默认：系统）"),
                as_json: bool = typer.Option(False, "--json")) -> None:
    """按已加载的放假安排重算全部未到期期限（加载中断后补做）。"""
    actor = _common.actor(as_user)
    rt = _common.runtime()
    with _common.errors_exit():
        report = rt.recount_deadlines(actor, dry_run=dry_run)
    _common.emit({"moves": _moves_json(report), "cases_changed": report.cases_changed,
                  "cases_failed": report.cases_failed}, as_json, _moves_text(report, dry_run))


@calendar_app.command("show")
def show(year: int | None = typer.Argument(None, help="年份；不给则列出前后几年的来源"),
         as_json: bool = typer.Option(False, "--json")) -> None:
    """显示某年法定节假日的来源（已加载安排 / 内置数据 / 按放假办法推算）及非周末休息日、调休上班日。"""
    from engine.views.calendar import year_overviews

    rt = _common.runtime()
    if year is not None and not 1900 <= year <= 2100:
        _common.fail(f"年份须在 1900–2100 之间 / year must be within 1900–2100: {year}")
    with _common.errors_exit():
        this = rt.now().year
        out = year_overviews(rt, [year] if year is not None else list(range(this - 1, this + 4)))
    lines = []
    for o in out:
        ver = f"（第 {o['version']} 版{('，' + o['basis']) if o['basis'] else ''}）" if o["version"] else ""
        lines.append(f"{o['year']} 年：{o['source_zh']}{ver}")
        if year is not None:
            lines.append("  工作日放假：" + ("、".join(o["weekday_rest_days"]) or "无"))
            lines.append("  周末调休上班：" + ("、".join(o["weekend_working_days"]) or "无"))
    _common.emit(out if year is None else out[0], as_json, "\n".join(lines))


@calendar_app.command("history")
def history(year: int = typer.Argument(...), as_json: bool = typer.Option(False, "--json")) -> None:
    """列出某年放假安排的各个版本（谁、何时加载）。"""
    from engine.views.calendar import schedule_versions

    rt = _common.runtime()
    with _common.errors_exit():
        rows = [{**r, "created_at": r["created_at"].isoformat()} for r in schedule_versions(rt, year)]
    _common.emit(rows, as_json, "\n".join(f"v{r['version']}\t{r['created_at'][:19]}\t{r['created_by']}" for r in rows)
                 or f"{year} 年尚未加载放假安排")


def register(app: typer.Typer) -> None:
    app.add_typer(calendar_app, name="calendar")
