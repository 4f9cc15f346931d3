"""hongwu notice … (issue, verify, show, export, ballots) and hongwu doctor."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from . import _common

notice_app = typer.Typer(help="文书（公告、公示、选票）：出具、核验、导出", no_args_is_help=True)


@notice_app.command("kinds")
def kinds(as_json: bool = typer.Option(False, "--json")) -> None:
    """列出文书种类及其必填变量。"""
    from engine.notices.kinds import NOTICE_KINDS

    rows = [{"kind": k.kind, "title": k.title, "required": list(k.required), "optional": list(k.optional)}
            for k in NOTICE_KINDS.values()]
    _common.emit(rows, as_json, "\n".join(f"{r['kind']}\t{r['title']}\t{', '.join(r['required'])}" for r in rows))


@notice_app.command("issue")
def issue(kind: str = typer.Argument(..., help="文书种类，见 hongwu notice kinds"),
          data: str = typer.Option(..., "--data", help="模板变量 JSON 或 @文件"),
          case: str | None = typer.Option(None, "--case", help="所属案件编号（默认发文机关取其街道）"),
          title: str | None = typer.Option(None, "--title", help="标题（默认按种类）"),
          replaces: int | None = typer.Option(None, "--replaces", help="被替代的文书 id"),
          reason: str | None = typer.Option(None, "--reason", help="替代原因（与 --replaces 同用，印在新文书中）"),
          out: Path | None = typer.Option(None, "--out", help="同时把 PDF 写到此文件"),
          as_user: str | None = typer.Option(None, "--as", help="以该用户身份"),
          as_json: bool = typer.Option(False, "--json")) -> None:
    """出具一份文书：渲染 PDF 并存档（不可修改；更正请用 --replaces 出具新文书）。"""
    from engine.services import notices

    context = _common.read_json_arg(data)
    actor = _common.actor(as_user)
    with _common.errors_exit():
        info, content = notices.issue(_common.runtime(), actor, kind, context, case_number=case, title=title,
                                      replaces=replaces, reason=reason)
    if out:
        out.write_bytes(content)
    _common.emit(info, as_json, f"已出具 issued #{info['id']} {info['doc_number'] or ''} {info['title']} "
                                f"核验码 {info['verification_code']}" + (f" → {out}" if out else ""))


@notice_app.command("verify")
def verify(file: Path = typer.Argument(..., help="要核验的 PDF 文件"),
           as_json: bool = typer.Option(False, "--json")) -> None:
    """核验 PDF 是否为本系统存档文书的原件（逐字节 sha256 比对）；不是则退出码 1。"""
    from engine.services import notices

    if not file.is_file():
        _common.fail(f"no such file: {file} / 文件不存在")
    with _common.errors_exit():
        result = notices.verify_pdf(_common.runtime(), file.read_bytes())
    if result["genuine"]:
        d = result["document"]
        lines = [f"真实 GENUINE：{d['title']}（{d['doc_number'] or '无文号'}）",
                 f"  发文机关 {d['issuer']}，成文日期 {d['issued_on']}，核验码 {d['verification_code']}",
                 f"  案件 {d['case_number'] or '—'}，种类 {d['kind']}，文书 #{d['id']}"]
        st = result["status"]
        lines.append(f"  状态 status：{st['status_zh']}" + (f"（撤销原因：{st['reason']}）" if st["reason"] else ""))
        lines += [f"  注意：已被替代 superseded by #{x['id']} {x['doc_number'] or ''}《{x['title']}》（核验码 {x['verification_code']}）"
                  for x in result["superseded_by"]]
        _common.emit(result, as_json, "\n".join(lines))
        return
    _common.emit(result, as_json, f"不一致 NOT GENUINE：{result['reason_zh']} (sha256 {result['sha256']})")
    raise typer.Exit(1)


@notice_app.command("show")
def show(code: str = typer.Argument(..., help="核验码（或选票编号）"),
         as_json: bool = typer.Option(False, "--json")) -> None:
    """按核验码查找文书。"""
    from engine.services import notices

    with _common.errors_exit():
        info = notices.by_code(_common.runtime(), code)
    if info is None:
        _common.fail(f"no document with code {code} / 核验码 {code} 不存在", 1)
    _common.emit(info, as_json, f"#{info['id']} {info['title']} {info['doc_number'] or ''} {info['issuer']} "
                                f"{info['issued_on']} 案件 {info['case_number'] or '—'} {info['status']['status_zh']} "
                                f"sha256 {info['sha256']}")


@notice_app.command("export")
def export(document_id: int = typer.Argument(...), out: Path = typer.Option(..., "--out"),
           as_json: bool = typer.Option(False, "--json")) -> None:
    """把存档的 PDF 原样写到文件。"""
    from engine.services import notices

    with _common.errors_exit():
        info, content = notices.archived_pdf(_common.runtime(), document_id)
    out.write_bytes(content)
    info["out"] = str(out)
    _common.emit(info, as_json, f"{out} ({info['size']} bytes, sha256 {info['sha256']})")


def _read_owners(value: str) -> list[dict]:
    """@owners.json (list of {owner_name, units, area}) or an owner-roll CSV/XLSX file."""
    path = Path(value[1:] if value.startswith("@") else value)
    if not path.is_file():
        _common.fail(f"no such file: {path} / 文件不存在")
    if path.suffix.lower() == ".json":
        try:
            owners = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            _common.fail(f"{path}: not valid JSON: {exc}")
        if not isinstance(owners, list):
            _common.fail(f"{path}: must be a JSON list of owners / 须为业主列表")
        return owners
    from engine.domain.owner_roll import parse_roll

    roll = parse_roll(path.read_bytes(), path.name)
    return [{"owner_name": o.name, "owner_id": o.owner_id, "units": list(o.units), "area": format(o.area_m2, "f")}
            for o in roll.owners.values()]


@notice_app.command("ballots")
def ballots(owners: str = typer.Option(..., "--owners", help="业主名册 CSV/XLSX，或 @owners.json"),
            data: str = typer.Option(..., "--data", help="选票变量 JSON 或 @文件（compound_name, vote_title, items, "
                                                         "instructions, deadline[, mode, ballot_box]）"),
            case: str | None = typer.Option(None, "--case", help="所属案件编号"),
            chunk: int = typer.Option(100, "--chunk", help="每份 PDF 的页数"),
            workers: int | None = typer.Option(None, "--workers", help="并行渲染进程数（默认 ≤2）"),
            out_dir: Path | None = typer.Option(None, "--out-dir", help="同时把 PDF 写到此目录"),
            as_user: str | None = typer.Option(None, "--as"),
            as_json: bool = typer.Option(False, "--json")) -> None:
    """为全体业主生成选票（每户一页，分批存档），显示进度。"""
    from engine.services import notices

    context = _common.read_json_arg(data)
    actor = _common.actor(as_user)
    rt = _common.runtime()
    with _common.errors_exit():
        roll = _read_owners(owners)
        with typer.progressbar(length=len(roll), label="生成选票 rendering ballots", file=sys.stderr) as bar:
            state = {"done": 0}

            def progress(done: int, total: int) -> None:
                bar.update(done - state["done"])
                state["done"] = done

            info, pdfs = notices.issue_ballots(rt, actor, context, roll, case_number=case, chunk_size=chunk,
                                               workers=workers, progress=progress)
        if out_dir:
            out_dir.mkdir(parents=True, exist_ok=True)
            for code, content in pdfs:
                (out_dir / f"ballots-{code}.pdf").write_bytes(content)
    _common.emit(info, as_json, f"已生成 {info['ballots']} 张选票，{len(info['documents'])} 份 PDF：" + "、".join(
        f"#{d['document_id']}（{d['verification_code']}，{d['pages']}页）" for d in info["documents"]))


def base_url_check(base_url: str):
    """A warning (not a failure: a local demo is fine) when QR codes would point where no
    resident's phone can go."""
    from engine.config import base_url_warning
    from engine.notices.fonts import Check

    problem = base_url_warning(base_url)
    return Check("base-url", problem is None, problem or f"{base_url}（文书二维码地址）", required=False)


def doctor_checks(database_url: str, base_url: str | None = None) -> list:
    from engine.notices.fonts import Check, compact_fonts_check, font_checks, harfbuzz_subset_check, poppler_check

    checks = [*font_checks(), harfbuzz_subset_check(), compact_fonts_check()]
    try:
        from engine.db.migrate import current_revision, head_revision
        from engine.db.session import ping

        ping(database_url)
        checks.append(Check("database", True, database_url.split("@")[-1]))
        current, head = current_revision(database_url), head_revision(database_url)
        checks.append(Check("migrations", current == head,
                            f"at {current}" if current == head else
                            f"database at {current or 'none'}, code at {head}: run `hongwu init` / 数据库未迁移到最新版本"))
    except Exception as exc:  # any failure to connect is what doctor reports
        checks.append(Check("database", False, f"cannot connect: {type(exc).__name__}: {str(exc).splitlines()[0]}"
                                               " / 无法连接数据库"))
        checks.append(Check("migrations", False, "unknown: database unreachable / 数据库不可达，无法检查迁移"))
    checks.extend(staffing_checks(database_url))
    checks.append(poppler_check())
    if base_url is not None:
        checks.append(base_url_check(base_url))
    from engine.audit_key import describe

    usable, what = describe()
    checks.append(Check("audit signing key", usable, what, required=False))
    return checks


def staffing_checks(database_url: str) -> list:
    """One warning per role × organisation with open steps nobody can do (not a failure: the
    installation works, those cases just wait for an account)."""
    from engine.notices.fonts import Check
    from engine.runtime.staffing import staffing_gaps_of

    gaps = staffing_gaps_of(database_url)
    if gaps is None:  # unreachable or unmigrated database: the database checks above already say so
        return []
    if not gaps:
        return [Check("staffing", True, "every open step has an active user / 所有当前步骤都有办理人员", required=False)]
    return [Check("staffing", False, f"待配置办理人员：{g.org_name}（{g.org_code}）没有在岗的{g.role_zh}"
                                     f"（{g.role}），等待中的案件：{'、'.join(g.case_numbers)}", required=False)
            for g in gaps]


def register(app: typer.Typer) -> None:
    app.add_typer(notice_app, name="notice")

    @app.command()
    def doctor(as_json: bool = typer.Option(False, "--json")) -> None:
        """检查运行环境：中文字体、HarfBuzz 子集化、数据库连接与迁移；缺什么就说什么，并以非零码退出。"""
        settings = _common.settings()
        checks = doctor_checks(settings.database_url, settings.base_url)
        missing = [c for c in checks if c.required and not c.ok]
        lines = [f"{'✓' if c.ok else ('✗' if c.required else '!')} {c.name}: {c.detail}" for c in checks]
        if missing:
            lines.append("缺少 missing: " + "; ".join(c.name for c in missing))
        _common.emit({"ok": not missing, "checks": [c.as_dict() for c in checks]}, as_json, "\n".join(lines))
        if missing:
            raise typer.Exit(1)
