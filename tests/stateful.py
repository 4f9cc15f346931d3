"""What the per-process Hypothesis state machines share: a fresh database per example, attempts
that may be refused (a refusal must change nothing), and the check run after every step — every
declared invariant of every case holds on what was committed, and every audit chain verifies.

`Checker` is that check. Each machine runs bounded (a few examples of a few dozen steps) on SQLite, and one fixed seed on
PostgreSQL when HONGWU_TEST_PG_URL is set.
"""
from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, run_state_machine_as_test
from sqlalchemy import select

from engine import audit
from engine.db.models import Case
from engine.runtime import invariants as inv
from engine.runtime.clock import FrozenClock
from engine.runtime.errors import Conflict, Forbidden, HongwuError, NotFound, ValidationFailed

# Refusals a random user may meet; anything else (or an InvariantViolated, which would mean a
# service let a broken change reach the save) fails the test.
EXPECTED_REFUSALS = (Forbidden, NotFound, Conflict, ValidationFailed)
# No shrinking: a failure is reported with the steps as they ran, and the run stays bounded.
SQLITE_RUN = settings(max_examples=8, stateful_step_count=30, deadline=None, derandomize=True,
                      phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
PG_RUN = settings(SQLITE_RUN, max_examples=1)


@dataclass
class Ledger:
    """What a run did, to show when a test fails and to check it exercised refusals as well."""

    done: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    def note(self, ok: bool, what: str) -> None:
        (self.done if ok else self.refused).append(what)


def fresh_runtime(make_url: Callable[[], str], start) -> tuple[Any, FrozenClock]:
    """A runtime on a new database made by `make_url` (see `prepared_sqlite`)."""
    from tests.conftest import make_runtime

    clock = FrozenClock(start)
    return make_runtime(make_url(), clock), clock


def seed_and_deploy(url: str, start, deploy: Callable[[Any], Any]) -> None:
    """The demo organisation and accounts, and the process under test, in the database at `url`."""
    from engine import demo
    from tests.conftest import make_runtime

    rt = make_runtime(url, FrozenClock(start))
    with rt.uow() as s:
        demo.seed(s, rt.now(), password=None)
    deploy(rt)


def prepared_sqlite(templates, tmp_path: Path, start, deploy: Callable[[Any], Any]) -> Callable[[], str]:
    """Seed and deploy once, then hand each example its own copy of that database file."""
    from engine.db.session import engine_for

    base = templates.sqlite(tmp_path / "prepared.db")
    seed_and_deploy(base, start, deploy)
    engine_for(base).dispose()  # the last connection's close checkpoints the WAL into the file
    counter = iter(range(1_000_000))

    def make() -> str:
        dest = tmp_path / f"example{next(counter)}.db"
        shutil.copy(tmp_path / "prepared.db", dest)
        return f"sqlite:///{dest}"
    return make


def prepared_postgresql(templates, start, deploy: Callable[[Any], Any]) -> Callable[[], str]:
    def make() -> str:
        url = templates.postgresql()
        seed_and_deploy(url, start, deploy)
        return url
    return make


@contextmanager
def quick_pdf():
    """Notices are still built from their templates, but not typeset: a PDF costs about a second
    and the rules under test do not depend on it (typesetting is tested in tests/notices)."""
    from engine.notices import render

    real = render.html_to_pdf
    render.html_to_pdf = lambda html, *a, **k: (b"%PDF-1.7\n" + html.encode("utf-8") + b"\n%%EOF\n", 1)
    try:
        yield
    finally:
        render.html_to_pdf = real


@dataclass
class OpenCase:
    version: int
    org_path: str
    tasks: list[dict[str, str]]  # id, name, role — oldest first


def open_tasks(rt, case_number: str) -> OpenCase:
    """A case's open tasks from the task table (no workflow to load)."""
    from engine.db.models import HumanTask

    with rt.uow() as s:
        case = s.scalar(select(Case).where(Case.case_number == case_number))
        rows = s.execute(select(HumanTask.id, HumanTask.spec_name, HumanTask.role).where(HumanTask.case_id == case.id)
                         .order_by(HumanTask.created_at, HumanTask.id)).all()
        return OpenCase(case.version, case.org_path, [{"id": i, "name": n, "role": r} for i, n, r in rows])


def case_version(rt, case_number: str) -> int:
    with rt.uow() as s:
        return s.scalar(select(Case.version).where(Case.case_number == case_number))


def attempt(rt, ledger: Ledger, what: str, action: Callable[[], Any], case_number: str | None = None):
    """Run `action`; an expected refusal must leave the case's version as it was."""
    before = case_version(rt, case_number) if case_number else None
    try:
        result = action()
    except inv.InvariantViolated as exc:  # the services should have refused first
        raise AssertionError(f"{what}: reached the save and broke {exc.details}") from exc
    except EXPECTED_REFUSALS as exc:
        ledger.note(False, f"{what}: {type(exc).__name__} {exc.message_zh[:60]}")
        if case_number:
            assert case_version(rt, case_number) == before, f"{what} was refused but changed the case"
        return None
    except HongwuError as exc:
        raise AssertionError(f"{what}: unexpected {type(exc).__name__}: {exc.message_zh}") from exc
    ledger.note(True, what)
    return result


def stale_attempt(rt, ledger: Ledger, users: list, case_number: str, choice: int,
                  payload: Callable[[Any, str, int], dict]) -> None:
    """Someone who may act submits a form opened before the case last changed: always a conflict,
    and the case stays as it was."""
    import pytest

    from engine.runtime.actors import Actor

    view = open_tasks(rt, case_number)
    if not view.tasks or view.version < 2:
        return
    task = view.tasks[choice % len(view.tasks)]
    fitting = [u for u in users if not u.is_system and u.role == task["role"] and u.covers(view.org_path)]
    actor = fitting[choice % len(fitting)] if fitting else Actor.system("cli")
    with pytest.raises(Conflict):
        rt.complete_task(task["id"], actor, payload(rt, task["name"], choice), view.version - 1)
    assert open_tasks(rt, case_number) == view
    ledger.note(False, f"{task['name']} of {case_number} by {actor.username}: Conflict (stale)")


class Checker:
    """Checks every case of a process after each step. A case whose version and chain length are
    as at the last check is skipped: nothing the invariants read has changed."""

    def __init__(self, rt, process_key: str):
        self.rt, self.process_key = rt, process_key
        self.seen: dict[int, tuple[int, int]] = {}

    def __call__(self) -> None:
        from engine.runtime.service import _current_data

        with self.rt.uow() as s:
            for case in s.scalars(select(Case).where(Case.process_key == self.process_key)):
                events = inv.case_events(s, case.id)
                if self.seen.get(case.id) == (case.version, len(events)):
                    continue
                wf, _ = self.rt.workflow_for(s, case)
                data = _current_data(wf)
                broken = inv.violations(self.process_key, data, events)
                assert not broken, f"{case.case_number}: " + "; ".join(f"{i.code}: {m}" for i, m in broken)
                summary = json.loads(json.dumps(data.get("case_summary") or {}, default=str))
                assert json.loads(case.summary or "{}") == summary, f"{case.case_number}: summary is not the data's"
                report = audit.verify_events(audit.case_chain(case.case_number),
                                             audit.chain_events(s, audit.case_chain(case.case_number)))
                assert report.ok, report
                self.seen[case.id] = (case.version, len(events))

    def all_chains_verify(self) -> None:
        with self.rt.uow() as s:
            bad = [r for r in audit.verify(s) if not r.ok]
        assert not bad, bad


class ProcessMachine(RuleBasedStateMachine):
    """What each process's machine shares: a fresh runtime with the demo users, the ledger of what
    was tried, the invariant check after every step and the chain check at the end. A subclass
    sets `process_key`, `start` and `seen` (the ledger over all examples of a run)."""

    process_key = ""
    start: Any = None
    seen: Ledger

    def __init__(self, make_url: Callable[[], str]):
        super().__init__()
        from engine import demo
        from engine.runtime.actors import load_actor

        self.rt, self.clock = fresh_runtime(make_url, self.start)
        with self.rt.uow() as s:
            self.users = [load_actor(s, u[0]) for u in demo.USERS]
        self.cases: list[str] = []
        self.ledger = Ledger()
        self.check = Checker(self.rt, self.process_key)

    def _someone(self, right: int, pick: int, role: str, path: str):
        """Usually a user with `role` whose jurisdiction covers `path`, sometimes anyone at all."""
        fitting = [u for u in self.users if not u.is_system and u.role == role and u.covers(path)]
        return fitting[pick % len(fitting)] if fitting and right < 7 else self.users[pick % len(self.users)]

    def complete_open_tasks(self, moves, payload: Callable[[Any, str, int], dict], outcome_in_label: bool = False) -> None:
        """People complete open tasks: usually the right person, sometimes anyone at all, now and
        then on a stale version. The rules are checked after each completion. Each move is
        (which case, right person?, whom, which task and payload, stale?)."""
        for which, right, pick, choice, stale in moves:
            cn = self.cases[which % len(self.cases)]
            view = open_tasks(self.rt, cn)
            if not view.tasks:
                continue
            task = view.tasks[choice % len(view.tasks)]
            actor = self._someone(right, pick, task["role"], view.org_path)
            expected = view.version - 1 if stale == 0 else view.version
            data = payload(self.rt, task["name"], choice)
            step = task["name"] + (f"/{data['outcome']}" if outcome_in_label and "outcome" in data else "")
            attempt(self.rt, self.ledger, f"{step} of {cn} by {actor.username}",
                    partial(self.rt.complete_task, task["id"], actor, data, expected), cn)
            self.check()

    @invariant()
    def rules_hold(self):
        self.check()

    def teardown(self):
        self.check.all_chains_verify()
        self.seen.done += self.ledger.done
        self.seen.refused += self.ledger.refused


def run(machine_class, run_settings) -> None:
    with quick_pdf():
        run_state_machine_as_test(machine_class, settings=run_settings)
