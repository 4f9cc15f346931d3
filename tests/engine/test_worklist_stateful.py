"""Random users claim, release, assign, complete, suspend, resume and cancel sample cases while time
passes and the worker runs. After every step: a case is running, suspended, completed or
cancelled; a cancelled or completed case has no open task, timer or claim; every claim is held by
an active user of the task's role over the case; no timer fired and no task was completed while
its case was suspended; every chain verifies."""
from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import invariant, precondition, rule
from sqlalchemy import select

from engine import audit
from engine.db.models import Case, HumanTask, OrgUnit, Timer, User
from engine.db.worklist_models import TaskClaim
from tests.engine.support import SAMPLE_BPMN, SAMPLE_FORMS, apply_data
from tests.stateful import (
    PG_RUN,
    SQLITE_RUN,
    Ledger,
    ProcessMachine,
    attempt,
    open_tasks,
    prepared_postgresql,
    prepared_sqlite,
    run,
)

START = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)
COMPOUNDS = ("PK-JP-XC-01", "PK-JP-XC-02", "PK-JP-WJ-01")
STATUSES = {"running", "suspended", "completed", "cancelled"}
SEEN = Ledger()


def deploy_sample(rt) -> None:
    from engine.runtime.service import deploy

    deploy(rt, [SAMPLE_BPMN], SAMPLE_FORMS)


def machine(make_url):
    class WorklistMachine(ProcessMachine):
        process_key, start, seen = "sample_review", START, SEEN

        def __init__(self):
            super().__init__(make_url)

        @precondition(lambda self: len(self.cases) < 3)
        @rule(compound=st.sampled_from(COMPOUNDS), amount=st.sampled_from([100, 5000]), days=st.integers(1, 9))
        def open_and_apply(self, compound, amount, days):
            street = next(u for u in self.users if u.username == "street")
            case = self.rt.start_case("sample_review", compound, street)
            self.cases.append(case.case_number)
            self.rt.complete_task(case.tasks[0]["id"], street, apply_data(amount=amount, days=days))
            self.ledger.note(True, f"open {case.case_number}")

        @precondition(lambda self: self.cases)
        @rule(which=st.integers(0, 50), pick=st.integers(0, 20), right=st.integers(0, 9),
              what=st.sampled_from(["claim", "release", "assign", "delegate", "complete"]))
        def handle_task(self, which, pick, right, what):
            number = self.cases[which % len(self.cases)]
            view = open_tasks(self.rt, number)
            if not view.tasks:
                return
            task = view.tasks[pick % len(view.tasks)]
            actor = self._someone(right, pick, task["role"], view.org_path)
            other = self.users[(pick + 3) % len(self.users)].username
            do = {"claim": lambda: self.rt.claim_task(task["id"], actor),
                  "release": lambda: self.rt.release_task(task["id"], actor),
                  "assign": lambda: self.rt.assign_task(task["id"], actor, other),
                  "delegate": lambda: self.rt.delegate_task(task["id"], actor, other, "状态机转办"),
                  "complete": lambda: self._complete(number, task["id"], actor)}[what]
            attempt(self.rt, self.ledger, f"{what} of {number} by {actor.username}", do,
                    number if what != "complete" else None)

        def _complete(self, number, task_id, actor):
            suspended = self._status(number) == "suspended"
            view = self.rt.complete_task(task_id, actor, {"decision": "agree"})
            assert not suspended, f"a task of suspended {number} was completed"
            return view

        @precondition(lambda self: self.cases)
        @rule(which=st.integers(0, 50), pick=st.integers(0, 20), right=st.integers(0, 9),
              what=st.sampled_from(["suspend", "resume", "cancel"]))
        def control(self, which, pick, right, what):
            number = self.cases[which % len(self.cases)]
            actor = self._someone(right, pick, "street_staff", open_tasks(self.rt, number).org_path)
            method = {"suspend": self.rt.suspend_case, "resume": self.rt.resume_case,
                      "cancel": self.rt.cancel_case}[what]
            attempt(self.rt, self.ledger, f"{what} of {number} by {actor.username}",
                    lambda: method(number, actor, "状态机督办"), number)

        @rule(days=st.integers(1, 6))
        def time_passes(self, days):
            before = {n: self._fired(n) for n in self.cases if self._status(n) == "suspended"}
            self.clock.advance(days=days)
            self.rt.run_due_timers("w")
            for number, fired in before.items():
                assert self._fired(number) == fired, f"a timer of suspended {number} fired"

        def _status(self, number):
            with self.rt.uow() as s:
                return s.scalar(select(Case.status).where(Case.case_number == number))

        def _fired(self, number):
            with self.rt.uow() as s:
                return sum(e.action == "timer_fired" for e in audit.chain_events(s, audit.case_chain(number)))

        @invariant()
        def statuses_and_claims_hold(self):
            with self.rt.uow() as s:
                for case in s.scalars(select(Case)):
                    assert case.status in STATUSES
                    if case.status in ("completed", "cancelled"):
                        for model in (HumanTask, Timer, TaskClaim):
                            assert s.scalar(select(model).where(model.case_id == case.id).limit(1)) is None, \
                                f"{case.case_number} is {case.status} but has {model.__name__} rows"
                rows = s.execute(select(TaskClaim, HumanTask, User, OrgUnit.path)
                                 .join(HumanTask, HumanTask.id == TaskClaim.task_id)
                                 .join(User, User.username == TaskClaim.holder)
                                 .outerjoin(OrgUnit, OrgUnit.id == User.jurisdiction_id)).all()
                for claim, task, user, path in rows:
                    assert user.role == task.role and task.org_path.startswith(path or ""), \
                        f"{claim.holder} holds {task.title} without its role over the case"
                total = s.scalar(select(TaskClaim.task_id).limit(1))
                assert total is None or len(rows) > 0  # no claim row without its holder

    return WorklistMachine


def test_random_users_cannot_break_claims_and_supervision(_templates, tmp_path):
    # More examples than the process machines: each starts from no case, and a sample case only
    # has a step to claim once it needs the party's review.
    run(machine(prepared_sqlite(_templates, tmp_path, START, deploy_sample)), settings(SQLITE_RUN, max_examples=25))
    done = {x.split(" of ")[0] for x in SEEN.done}
    assert {"claim", "suspend", "complete"} <= done, json.dumps([sorted(done), sorted({r.split(":", 1)[1][:80] for r in SEEN.refused})], ensure_ascii=False)
    assert any("Forbidden" in x for x in SEEN.refused) and any("Conflict" in x for x in SEEN.refused)


@pytest.mark.postgres
def test_random_users_cannot_break_claims_and_supervision_on_postgresql(_templates):
    from tests.conftest import PG_URL

    if not PG_URL:
        pytest.skip("HONGWU_TEST_PG_URL not set")
    run(machine(prepared_postgresql(_templates, START, deploy_sample)), PG_RUN)
