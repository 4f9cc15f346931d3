"""hongwu audit verify / checkpoint / export."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from . import _common

audit_app = typer.Typer(help="审计链", no_args_is_help=True)


def _anchor_text(report) -> str:
    cp = report.checkpoint
    lines = [f"检查点 checkpoint: {cp['created_at']}，覆盖 {cp['events']} 条事件 / {cp['chains']} 条链，"
             f"Merkle 根 {cp['merkle_root'][:16]}…；其后新增 {report.unanchored_events} 条（已封印，待下次检查点）"
             if cp else "检查点 checkpoint: （无）"]
    lines += [f"BROKEN {p.chain or ''} {p.kind}: {p.message_zh} ({p.message})" for p in report.problems]
    lines += [f"提示 note: {w}" for w in report.warnings]
    return "\n".join(lines)


@audit_app.command("verify")
def verify(case: str | None = typer.Argument(None, help="案件编号；缺省则校验全部链"),
           checkpoint: Path | None = typer.Option(None, "--checkpoint",
                                                     help="以导出的检查点文件为准（缺省：数据库中最新的检查点）"),
           as_json: bool = typer.Option(False, "--json")) -> None:
    """重新计算哈希链并与最新签名检查点比对；指出缺失、被改写的事件和被改动的案件状态，有问题则以非零退出。"""
    from engine import audit, audit_anchor
    from engine.views import audit as audit_views

    document = None
    if checkpoint is not None:
        with _common.errors_exit():
            try:
                raw = checkpoint.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                _common.fail(f"cannot read {checkpoint}: {exc} / 无法读取检查点文件 {checkpoint}")
            document = audit_anchor.load_document(raw)
    rt = _common.runtime()
    chain = audit.case_chain(case) if case else None
    with _common.errors_exit():
        reports, anchor = audit_views.verify_chains(rt, chain, document)
    if case and reports and reports[0].events == 0 and not anchor.problems:
        _common.fail(f"unknown case {case!r} (no history) / 案件 {case} 无审计记录")
    bad = [r for r in reports if not r.ok]
    text = "\n".join(
        f"{'OK ' if r.ok else 'BROKEN'} {r.chain} ({r.events} events)" +
        ("" if r.ok else f" — first broken event id={r.broken_id} seq={r.broken_seq}: {r.reason}") for r in reports)
    data = [r.as_dict() for r in reports]
    _common.emit({"chains": data, "anchor": anchor.as_dict()} if as_json else data, as_json,
                 (text or "（无审计记录）") + "\n" + _anchor_text(anchor))
    if bad or not anchor.ok:
        raise typer.Exit(1)


@audit_app.command("checkpoint")
def checkpoint(export: Path | None = typer.Option(None, "--export", "-o",
                                                      help="同时把检查点导出为 JSON 文件（交区里留存）"),
               latest: bool = typer.Option(False, "--latest", help="不新写，只导出最近的检查点"),
               as_json: bool = typer.Option(False, "--json")) -> None:
    """对全部审计链的链头计算 Merkle 根并用审计密钥（Ed25519）签名，写入检查点。"""
    from engine import audit_anchor
    from engine.views import audit as audit_views

    rt = _common.runtime()
    with _common.errors_exit():
        if latest:
            cp = audit_views.latest_checkpoint(rt)
            if cp is None:
                _common.fail("no checkpoint yet / 尚无审计检查点")
        else:
            cp = rt.audit_checkpoint()
    doc = audit_anchor.export_document(cp)
    if export is not None:
        try:
            export.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        except OSError as exc:
            _common.fail(f"cannot write {export}: {exc} / 无法写入 {export}")
    summary = {"id": cp.id, "created_at": cp.created_at, "events": cp.events, "chains": cp.chains,
               "last_event_id": cp.last_event_id, "merkle_root": cp.merkle_root, "public_key": cp.public_key,
               "exported_to": str(export) if export else None}
    _common.emit(summary, as_json,
                 f"检查点 #{cp.id} {cp.created_at}：{cp.chains} 条链、{cp.events} 条事件，Merkle 根 {cp.merkle_root}"
                 + (f"；已导出到 {export}" if export else ""))


@audit_app.command("export")
def export(case: str = typer.Argument(...), fmt: str = typer.Option("jsonl", "--format", help="jsonl 或 csv"),
           output: str | None = typer.Option(None, "-o", "--output")) -> None:
    """导出一个案件的完整审计记录。"""
    from engine import audit
    from engine.views import audit as audit_views

    if fmt not in ("jsonl", "csv"):
        _common.fail("--format must be jsonl or csv")
    events = audit_views.case_events(_common.runtime(), case)
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
