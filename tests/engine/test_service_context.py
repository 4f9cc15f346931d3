"""The service-task helpers every process shares, on the ServiceContext: one behaviour each."""
from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from engine.runtime.errors import RuleRefused, ValidationFailed
from engine.runtime.services import ServiceContext

NOW = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)


def _ctx(data: dict | None = None) -> ServiceContext:
    ctx = ServiceContext(session=None, now=NOW, actor="street")
    if data is not None:
        ctx.extra["task"] = SimpleNamespace(data=data)
    return ctx


def test_data_is_the_running_tasks_data_and_outside_a_task_an_error():
    data = {"a": 1}
    assert _ctx(data).data is data
    with pytest.raises(RuntimeError):  # never a throwaway {} that would swallow what a service writes
        _ = _ctx().data


def test_summary_copies_updates_stores_and_returns():
    earlier = {"round": 1, "levels": {"community": "started"}}
    data = {"case_summary": earlier}
    ctx = _ctx(data)
    summary = ctx.summary(round=2)
    assert summary == {"round": 2, "levels": {"community": "started"}}
    assert data["case_summary"] is summary
    summary["levels"]["street"] = "started"  # a nested change made afterwards…
    assert earlier == {"round": 1, "levels": {"community": "started"}}  # …never reaches the earlier dict
    assert _ctx({}).summary() == {}


def test_refuse_names_every_problem_or_returns():
    ServiceContext.refuse([])
    problems = [ServiceContext.problem("a", "a is missing", "缺少甲"), ServiceContext.problem("b", "b is bad", "乙有误")]
    assert problems[0] == {"field": "a", "message": "a is missing", "message_zh": "缺少甲"}
    with pytest.raises(ValidationFailed) as refused:
        ServiceContext.refuse(problems)
    assert refused.value.message_zh == "缺少甲；乙有误" and refused.value.details == problems
    with pytest.raises(RuleRefused):
        ServiceContext.refuse(problems, RuleRefused)


def test_compound_is_none_only_without_a_case():
    assert _ctx({}).compound() is None
