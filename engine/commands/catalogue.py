"""hongwu catalogue … — a street's prior-review matter catalogue (先议事项目录), versioned."""
from __future__ import annotations

import json

import typer

from . import _common

catalogue_app = typer.Typer(help="先议事项目录（按街道设置，每次修改生成新版本并留痕）", no_args_is_help=True)


def _text(value: dict, header: str) -> str:
    from engine.domain.prior_review import threshold_for_item

    lines = [header]
    for m in value["matters"]:
        rule = "四分之三" if threshold_for_item(m["art278_item"]) == "three_quarters" else "过半数"
        who = "业主大会表决" if m["assembly_vote"] else "业委会决定"
        lines.append(f"{'✔' if m['enabled'] else '✘'} {m.get('no', ''):>2} {m['code']:<20} {m['name']}　"
                     f"[第278条第{m['art278_item']}项·{rule}·{who}·先议{m['review_days']}天]")
    return "\n".join(lines)


@catalogue_app.command("show")
def show(street: str = typer.Option(..., "--street", help="街道编码"),
         version: int | None = typer.Option(None, "--version", help="显示历史版本"),
         as_json: bool = typer.Option(False, "--json")) -> None:
    """显示街道当前（或指定版本）的先议事项目录。"""
    from engine.domain.prior_review import SETTING_KEY
    from engine.runtime.settings import effective_setting

    with _common.errors_exit():
        cur = effective_setting(_common.runtime(), SETTING_KEY, street, kind="street", version=version)
    out = {"street": street, "version": cur.version, "set_on": cur.org_code, "value": cur.value}
    src = "内置默认目录" if out["version"] == 0 else f"第 {out['version']} 版（{out['set_on']}）"
    _common.emit(out, as_json, _text(out["value"], f"{street} 先议事项目录：{src}"))


@catalogue_app.command("history")
def history(street: str = typer.Option(..., "--street"), as_json: bool = typer.Option(False, "--json")) -> None:
    """列出目录的各个版本（谁、何时修改）。"""
    from engine.domain.prior_review import SETTING_KEY
    from engine.runtime.settings import setting_versions

    with _common.errors_exit():
        rows = [{"version": r["version"], "setting_id": r["setting_id"], "created_by": r["created_by"],
                 "created_at": r["created_at"].isoformat()}
                for r in setting_versions(_common.runtime(), SETTING_KEY, street, kind="street")]
    _common.emit(rows, as_json, "\n".join(f"v{r['version']}\t{r['created_at'][:19]}\t{r['created_by']}" for r in rows)
                 or "（未修改过，使用内置默认目录）")


def _change(street: str, as_user: str, mutate) -> None:
    from engine.domain.prior_review import SETTING_KEY
    from engine.runtime.settings import effective_setting, save_setting

    actor = _common.actor(as_user)
    rt = _common.runtime()
    with _common.errors_exit():
        value = json.loads(json.dumps(effective_setting(rt, SETTING_KEY, street, kind="street").value))
        mutate(value)
        saved = save_setting(rt, SETTING_KEY, street, value, actor)
    typer.echo(f"{street} 先议事项目录已保存为第 {saved.version} 版 / saved as version {saved.version}")


def _matter(value: dict, code: str) -> dict:
    for m in value["matters"]:
        if m["code"] == code:
            return m
    _common.fail(f"目录中没有事项 {code} / no matter {code!r} in the catalogue")


@catalogue_app.command("set")
def set_(street: str = typer.Option(..., "--street"), data: str = typer.Option(..., "--data", help="JSON 或 @文件"),
         as_user: str = typer.Option(..., "--as", help="街道工作人员或管理员")) -> None:
    """用 JSON 整体替换目录（{"matters": [...]}）。"""
    new = _common.read_json_arg(data)
    _change(street, as_user, lambda v: (v.clear(), v.update(new)))


@catalogue_app.command("toggle")
def toggle(code: str = typer.Argument(..., help="事项编码"), street: str = typer.Option(..., "--street"),
           on: bool = typer.Option(..., "--on/--off", help="启用或停用"),
           as_user: str = typer.Option(..., "--as")) -> None:
    """启用或停用某一事项（停用后该事项不再需要党支部先议）。"""
    _change(street, as_user, lambda v: _matter(v, code).update(enabled=on))


@catalogue_app.command("edit")
def edit(code: str = typer.Argument(...), street: str = typer.Option(..., "--street"),
         name: str | None = typer.Option(None, "--name", help="事项名称"),
         days: int | None = typer.Option(None, "--days", help="先议期限（天）"),
         as_user: str = typer.Option(..., "--as")) -> None:
    """修改事项名称或先议期限。"""
    if name is None and days is None:
        _common.fail("请给出 --name 或 --days / give --name or --days")

    def mutate(v: dict) -> None:
        m = _matter(v, code)
        if name is not None:
            m["name"] = name
        if days is not None:
            m["review_days"] = days
    _change(street, as_user, mutate)


def register(app: typer.Typer) -> None:
    app.add_typer(catalogue_app, name="catalogue")
