"""A refused look at a task is recorded in its case's chain by the service, whichever adapter asked:
the task page, the JSON API and `hongwu task show` all leave `refused:open_task`."""
from __future__ import annotations

from sqlalchemy import select
from typer.testing import CliRunner

from engine.cli import app as cli_app
from engine.db.models import AuditEvent
from tests.web.support import logged_in
from tests.web.test_pages import start_web_case, web_rt_actor


def _refusals(rt, number: str) -> list[tuple[str, str]]:
    with rt.uow() as s:
        return [(e.actor, e.action) for e in s.scalars(
            select(AuditEvent).where(AuditEvent.chain == f"case:{number}").order_by(AuditEvent.id))
            if e.action.startswith("refused:")]


def test_every_adapter_records_a_refused_look(app, web_rt, db_url):
    street = logged_in(app, "street")
    street.get(start_web_case(street))
    view = web_rt.list_cases(web_rt_actor(web_rt, "street"))[0]
    number = view.case_number
    task_id = web_rt.get_case(number, web_rt_actor(web_rt, "street")).tasks[0]["id"]
    assert _refusals(web_rt, number) == []

    own = logged_in(app, "community")  # right place, wrong role
    assert own.get(f"/tasks/{task_id}").status_code == 403
    assert _refusals(web_rt, number) == [("community", "refused:open_task")]

    assert own.get(f"/api/tasks/{task_id}").status_code == 403
    assert _refusals(web_rt, number) == [("community", "refused:open_task")] * 2

    res = CliRunner().invoke(cli_app, ["--db", db_url, "task", "show", task_id, "--as", "community"])
    assert res.exit_code == 2, res.output
    assert _refusals(web_rt, number) == [("community", "refused:open_task")] * 3

    # The one allowed to act leaves no refusal; the chain still verifies.
    assert street.get(f"/tasks/{task_id}").status_code == 200
    assert len(_refusals(web_rt, number)) == 3
