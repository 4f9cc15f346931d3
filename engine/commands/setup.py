"""hongwu init / deploy."""
from __future__ import annotations

from pathlib import Path

import typer

from . import _common


def register(app: typer.Typer) -> None:
    @app.command()
    def init(demo: bool = typer.Option(False, "--demo", help="载入演示组织、账号与案件"),
             training: bool = typer.Option(False, "--training",
                                           help="建为培训环境：每页显示「培训环境」，管理员可让案件模拟时间前进（仅限新建数据库）"),
             as_json: bool = typer.Option(False, "--json")) -> None:
        """创建/升级数据库（Alembic），部署内置流程；--demo 载入演示数据。"""
        from engine.db.migrate import current_revision, upgrade
        from engine.runtime.service import deploy

        s = _common.settings()
        with _common.errors_exit():
            upgrade(s.database_url)
            rt = _common.runtime()
            if training:  # before the demo cases: only a database without cases may become one
                from engine.runtime.actors import Actor

                rt.mark_training(Actor.system("init"))
            from engine.config import BUNDLED_BPMN_DIR

            has_bpmn = any(BUNDLED_BPMN_DIR.glob("*.bpmn"))
            results = [r.as_dict() for r in deploy(rt)] if has_bpmn else []
            demo_info = None
            if demo:
                from engine.demo_cases import load_demo

                demo_info = load_demo(rt)
        out = {"database": s.database_url, "revision": current_revision(s.database_url),
               "deployed": results, "demo": demo_info, "training": rt.is_training()}
        text = f"数据库已就绪 database ready: {s.database_url} (revision {out['revision']})\n" + "\n".join(
            f"  {r['key']} v{r['version']} {r['status']}" for r in results)
        if out["training"]:
            text += "\n培训环境 training database: 管理员可在案件页模拟时间前进"
        if demo_info:
            text += ("\n演示账号 demo accounts (密码 password: {p}): {u}".format(
                p=demo_info["password"], u=", ".join(demo_info["users"])) +
                ("\n演示案件 demo cases: " + ", ".join(demo_info["cases"]) if demo_info["cases"] else ""))
        _common.emit(out, as_json, text)

    @app.command("deploy")
    def deploy_cmd(paths: list[Path] | None = typer.Argument(None, help="BPMN/DMN 文件或目录（默认内置 bpmn/）"),
                   forms: Path | None = typer.Option(None, "--forms", help="表单目录（默认内置 forms/）"),
                   as_json: bool = typer.Option(False, "--json")) -> None:
        """校验并部署流程定义；内容相同则不变，内容变化则生成新版本。"""
        from engine.runtime.service import deploy

        with _common.errors_exit():
            results = [r.as_dict() for r in deploy(_common.runtime(), paths or None, forms)]
        _common.emit(results, as_json, "\n".join(f"{r['key']} v{r['version']} {r['status']} {r['sha256'][:12]}" for r in results))
