"""hongwu report … — read-only reports over cases (street level)."""
from __future__ import annotations

import typer

from . import _common

report_app = typer.Typer(help="统计报表", no_args_is_help=True)


@report_app.command("prior-review")
def prior_review(street: str = typer.Option(..., "--street", help="街道编码，例如 PK-JP"),
                 date_from: str | None = typer.Option(None, "--from", help="起始日期（含），YYYY-MM-DD"),
                 date_to: str | None = typer.Option(None, "--to", help="截止日期（含），YYYY-MM-DD"),
                 as_json: bool = typer.Option(False, "--json")) -> None:
    """先议事项统计：各小区事项类型与结果、先议合规率、先议用时中位数、超期先议。"""
    from engine.reports.prior_review import format_text
    from engine.views.dashboard import street_report

    start, end = _common.date_option(date_from, "--from"), _common.date_option(date_to, "--to")
    with _common.errors_exit():
        report = street_report(_common.runtime(), "prior_review", street, start, end)
    _common.emit(report, as_json, format_text(report))


def register(app: typer.Typer) -> None:
    app.add_typer(report_app, name="report")
