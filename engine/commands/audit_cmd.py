"""hongwu audit verify / export."""
from __future__ import annotations

import sys
from typing import Optional

import typer

from . import _common

audit_app = typer.Typer(help="审计链", no_args_is_help=True)


@audit_app.command("verify")
def verify(case: Optional[str] = typer.Argument(None, help="案件编号；缺省则校验全部链"),
           as_json: bool = typer.Option(False, "--json")) -> None:
    """重新计算哈希链；发现断链则指出第一条被破坏的事件并以非零退出。"""
    from engine import audit

    rt = _common.runtime()
    with rt.uow() as s:
        reports = audit.verify(s, audit.case_chain(case) if case else None)
    if case and reports and reports[0].events == 0:
        _common.fail(f"unknown case {case!r} (no history) / 案件 {case} 无审计记录")
    bad = [r for r in reports if not r.ok]
    text = "\n".join(
        f"{'OK ' if r.ok else 'BROKEN'} {r.chain} ({r.events} events)" +
        ("" if r.ok else f" — first broken event id={r.broken_id} seq={r.broken_seq}: {r.reason}") for r in reports)
    _common.emit([r.as_dict() for r in reports], as_json, text or "（无审计记录）")
    if bad:
        raise typer.Exit(1)


@audit_app.command("export")
def export(case: str = typer.Argument(...), fmt: str = typer.Option("jsonl", "--format", help="jsonl 或 csv"),
           output: Optional[str] = typer.Option(None, "-o", "--output")) -> None:
    """导出一个案件的完整审计记录。"""
    from engine import audit

    if fmt not in ("jsonl", "csv"):
        _common.fail("--format must be jsonl or csv")
    rt = _common.runtime()
    with rt.uow() as s:
        events = audit.chain_events(s, audit.case_chain(case))
    if not events:
        _common.fail(f"unknown case {case!r} (no history) / 案件 {case} 无审计记录")
    chunks = audit.export_jsonl(events) if fmt == "jsonl" else audit.export_csv(events)
    out = open(output, "w", encoding="utf-8", newline="") if output else sys.stdout
    try:
        for chunk in chunks:
            out.write(chunk)
    finally:
        if output:
            out.close()


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")
