"""hongwu mediation … / stats … / token … — tiered mediation from the command line.

`stats` is a sub-app other areas may add commands to (`from engine.commands.mediation import
stats_app`).
"""
from __future__ import annotations

from typing import Any

import typer

from . import _common

mediation_app = typer.Typer(help="物业纠纷分级调解", no_args_is_help=True)
stats_app = typer.Typer(help="统计", no_args_is_help=True)
token_app = typer.Typer(help="外部系统 API 令牌", no_args_is_help=True)


# --- mediation ------------------------------------------------------------------------------


@mediation_app.command("intake")
def intake(data: str = typer.Option(..., "--data", help="符合 engine/schemas/mediation_case.schema.json 的 JSON 或 @文件"),
           as_user: str | None = typer.Option(None, "--as", help="以该用户身份受理（默认：系统）"),
           as_json: bool = typer.Option(False, "--json")) -> None:
    """受理一件纠纷（与 POST /api/mediation-cases 相同的内容；同一来源单号不会重复立案）。"""
    from engine.services.mediation_intake import intake_case

    payload = _common.read_json_arg(data)
    actor = _common.actor(as_user)
    with _common.errors_exit():
        view, created = intake_case(_common.runtime(), payload, actor)
    out = {"case_number": view.case_number, "status": view.status, "created": created,
           "reference": payload.get("reference"), "tasks": [t["title"] for t in view.tasks]}
    _common.emit(out, as_json, f"{view.case_number} {'已立案' if created else '已存在（未重复立案）'} · "
                 + ("、".join(out["tasks"]) or "无待办"))


@mediation_app.command("deadlines")
def deadlines(org: str | None = typer.Option(None, "--org", help="组织编码（街道）；不填为全局"),
              set_value: str | None = typer.Option(None, "--set", help="新设置 JSON 或 @文件，例如 '{\"community\": 10}'"),
              as_json: bool = typer.Option(False, "--json")) -> None:
    """查看或修改各级调解期限（按街道配置，版本化并留痕）。"""
    from engine.domain import mediation as rules
    from engine.runtime.actors import Actor
    from engine.runtime.settings import effective_setting, save_setting

    rt = _common.runtime()
    with _common.errors_exit():
        if set_value is not None:
            save_setting(rt, rules.SETTING_KEY, org, _common.read_json_arg(set_value), Actor.system("cli"))
        current = effective_setting(rt, rules.SETTING_KEY, org)
        out = {"org": current.org_code, "version": current.version, "value": rules.effective_setting(current.value)}
    _common.emit(out, as_json, "\n".join(
        [f"设置来源：{out['org'] or '默认/全局'} v{out['version']}"]
        + [f"  {rules.SETTING_FIELDS[k][0]}：{v}" for k, v in out["value"].items()]))


# --- stats ----------------------------------------------------------------------------------


def format_stats(r: dict[str, Any]) -> str:
    from engine.domain.mediation import LEVEL_SHORT_ZH

    period = f"{r['from'] or '…'} 至 {r['to'] or '…'}"
    lines = [f"{r['street_name']}（{r['street']}）物业纠纷调解统计  受理期间：{period}",
             f"  收到 {r['received']} 件，受理 {r['accepted']} 件，不予受理 {r['not_accepted']} 件，待审查 {r['awaiting_acceptance']} 件",
             f"  办结 {r['concluded']} 件：调解成功 {r['settled']} 件"
             f"（社区 {r['settled_by_level']['community']}、街道 {r['settled_by_level']['street']}、"
             f"区级 {r['settled_by_level']['district']}），引导诉讼/仲裁 {r['referred']} 件；在办 {r['in_progress']} 件"]
    for ind in r["indicators"]:
        mark = {True: "达标", False: "未达标", None: ""}[ind["met"]]
        lines.append(f"  {ind['label']}：{ind['display']}  目标：{ind['target_text']} {mark}".rstrip())
    medians = "，".join(f"{LEVEL_SHORT_ZH[k]} {'—' if v is None else v} 日" for k, v in r["median_days_per_level"].items())
    lines.append(f"  各级调解用时中位数：{medians}")
    lines.append(f"  当前超期：{r['overdue_now']} 件" + (f"（{'、'.join(r['overdue_cases'])}）" if r["overdue_cases"] else ""))
    return "\n".join(lines)


@stats_app.command("mediation")
def stats_mediation(street: str = typer.Option(..., "--street", help="街道编码，例如 PK-JP"),
                    date_from: str | None = typer.Option(None, "--from", help="起始日期（含），YYYY-MM-DD"),
                    date_to: str | None = typer.Option(None, "--to", help="截止日期（含），YYYY-MM-DD"),
                    as_json: bool = typer.Option(False, "--json")) -> None:
    """调解统计：受理、调处率、成功率、各级化解占比、引导诉讼、各级用时中位数、当前超期（对照目标）。"""
    from engine.views.dashboard import street_report

    start, end = _common.date_option(date_from, "--from"), _common.date_option(date_to, "--to")
    with _common.errors_exit():
        report = street_report(_common.runtime(), "mediation", street, start, end)
    _common.emit(report, as_json, format_stats(report))


# --- tokens ---------------------------------------------------------------------------------


@token_app.command("create")
def token_create(name: str = typer.Argument(..., help="集成名称，例如 12345hotline"),
                 scope: str = typer.Option(..., "--scope", help="权限范围，例如 mediation_intake"),
                 org: str | None = typer.Option(None, "--org", help="限定报送范围的组织编码"),
                 as_json: bool = typer.Option(False, "--json")) -> None:
    """创建 API 令牌；令牌只显示这一次，库中仅保存其 SHA-256。"""
    from engine.services import tokens

    with _common.errors_exit():
        info, secret = tokens.create(_common.runtime(), name, scope, org_code=org, actor="cli")
    out = {**info.as_dict(), "token": secret}
    _common.emit(out, as_json, f"令牌 #{info.id} {info.name}（{info.scope}{'，' + info.org_code if info.org_code else ''}）\n"
                 f"{secret}\n请立即妥善保存：此令牌不会再次显示。")


@token_app.command("revoke")
def token_revoke(token_id: int = typer.Argument(..., help="令牌编号"),
                 as_json: bool = typer.Option(False, "--json")) -> None:
    """吊销 API 令牌（立即生效，不可恢复）。"""
    from engine.services import tokens

    with _common.errors_exit():
        info = tokens.revoke(_common.runtime(), token_id, actor="cli")
    _common.emit(info.as_dict(), as_json, f"令牌 #{info.id} {info.name} 已吊销")


@token_app.command("list")
def token_list(as_json: bool = typer.Option(False, "--json")) -> None:
    """列出 API 令牌（不含令牌本身）。"""
    from engine.services import tokens

    with _common.errors_exit():
        rows = [t.as_dict() for t in tokens.list_all(_common.runtime())]
    _common.emit(rows, as_json, "\n".join(
        f"#{r['id']}\t{r['name']}\t{r['scope']}\t{r['org_code'] or '全部'}\t"
        f"{'已吊销 ' + r['revoked_at'][:10] if r['revoked_at'] else '有效'}" for r in rows) or "（无令牌）")


def register(app: typer.Typer) -> None:
    app.add_typer(mediation_app, name="mediation")
    app.add_typer(stats_app, name="stats")
    app.add_typer(token_app, name="token")
