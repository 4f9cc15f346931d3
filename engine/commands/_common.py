"""What every command shares: the database option, JSON output, one-line errors with exit code 2."""
from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import typer

from engine.config import load_settings
from engine.runtime.errors import HongwuError


@dataclass
class CliState:
    db: str | None = None


STATE = CliState()


def settings():
    return load_settings(STATE.db)


def runtime():
    from engine.runtime.service import Runtime

    return Runtime(settings())


def register_job_kinds() -> None:
    """Import the modules that register the kinds of background jobs (a worker claims only the
    kinds it can run): the large owner-roll import and the bulk audit export."""
    import engine.services.roll_import  # noqa: F401 - registers its job kind
    import engine.web.audit_export  # noqa: F401 - registers its job kind


def fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"错误 error: {message}", err=True)
    raise typer.Exit(code)


@contextmanager
def errors_exit() -> Iterator[None]:
    """Turn a refused action into one line on stderr and exit code 2."""
    try:
        yield
    except HongwuError as exc:
        detail = exc.details if exc.details and all(isinstance(d, dict) for d in exc.details) else None
        if detail:
            for d in detail:
                typer.echo(f"错误 error: {d.get('message_zh', '')} | {d.get('message', '')}", err=True)
            raise typer.Exit(2) from None  # the refusal is printed; a traceback would bury it
        fail(str(exc))


def emit(data: Any, as_json: bool, text: str | None = None) -> None:
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    else:
        typer.echo(text if text is not None else json.dumps(data, ensure_ascii=False, indent=2, default=str))


def read_json_arg(value: str | None) -> dict:
    """`--data '{"a": 1}'` or `--data @file.json`."""
    from engine.runtime.limits import parse_json

    if not value:
        return {}
    raw = value.encode("utf-8")
    if value.startswith("@"):
        path = Path(value[1:])
        if not path.is_file():
            fail(f"no such file: {path}")
        raw = path.read_bytes()
    try:
        data = parse_json(raw)  # the same limits as the API: depth, size, NUL, finite numbers
    except HongwuError as exc:
        fail(f"--data: {exc.message_zh} ({exc.message})")
    if not isinstance(data, dict):
        fail("--data must be a JSON object")
    return data


def actor(username: str | None):
    from engine.runtime.actors import Actor
    from engine.views.lookups import actor_named

    if not username:
        return Actor.system("cli")
    with errors_exit():
        return actor_named(runtime(), username)


def stdout_is_tty() -> bool:
    return sys.stdout.isatty()


def date_option(value: str | None, option: str):
    """`--from 2026-11-01` → a date; anything else is a one-line error (exit 2)."""
    from datetime import date

    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{option} 须为日期 YYYY-MM-DD / {option} must be a date YYYY-MM-DD: {value!r}")
