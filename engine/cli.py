"""`hongwu` command line. Each area's commands live in `engine/commands/<area>.py`, which
exposes `register(app)`; modules there are discovered automatically."""
from __future__ import annotations

import importlib
import pkgutil

import typer

from engine.commands import _common

app = typer.Typer(help="hongwu 红物：红色物业流程引擎 (BPMN workflow engine)", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)


@app.callback()
def _root(db: str | None = typer.Option(None, "--db", help="数据库 URL（覆盖 HONGWU_DATABASE_URL）")) -> None:
    _common.STATE.db = db


def _register_all() -> None:
    import engine.commands as pkg

    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{pkg.__name__}.{info.name}")
        module.register(app)


_register_all()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
