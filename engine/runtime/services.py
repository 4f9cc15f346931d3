"""The registry of functions BPMN service tasks may call — the only code a service task runs.

A process module registers its functions with `@service("name")`. A function receives the
service-task parameters (already evaluated, restricted expressions) as keyword arguments; with
`context=True` it also gets a `ServiceContext` first: the unit-of-work session, the clock's
now, the case and the acting user, so that what it writes commits with the case's state.
"""
from __future__ import annotations

import copy
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .errors import DeployError, ValidationFailed


@dataclass
class ServiceContext:
    session: Any  # sqlalchemy.orm.Session
    now: datetime
    actor: str
    case: Any = None  # engine.db.models.Case (None while validating)
    settings: Any = None  # engine.config.Settings
    extra: dict = field(default_factory=dict)

    # The helpers every process's service tasks share (one behaviour for all of them).

    @property
    def task(self) -> Any:
        """The service task being run (None outside one)."""
        return self.extra.get("task")

    @property
    def data(self) -> dict:
        """The running task's data, which the service may change. Outside a service task this is
        a wiring error, not an empty dict: what a service wrote there would be lost silently."""
        task = self.task
        if task is None:
            raise RuntimeError("this service reads task data and runs only inside a service task")
        return task.data

    def summary(self, **updates: Any) -> dict:
        """A fresh copy of the case's reportable facts (`case_summary`) with `updates` applied, put
        back in the task data and returned (a service may also return it as its result). Never
        changes the dict an earlier step stored."""
        data = self.data
        summary = copy.deepcopy(data.get("case_summary") or {})
        summary.update(updates)
        data["case_summary"] = summary
        return summary

    def compound(self) -> Any:
        """The case's compound (engine.db.models.OrgUnit); None only while no case exists."""
        if self.case is None:
            return None
        from engine.db.models import OrgUnit  # runtime reads organisations; db owns the model

        return self.session.get(OrgUnit, self.case.compound_id)

    @staticmethod
    def problem(field: str, message: str, message_zh: str) -> dict:
        """One field error, in the shape forms show next to the field."""
        return {"field": field, "message": message, "message_zh": message_zh}

    @staticmethod
    def refuse(problems: list[dict], error: type[ValidationFailed] = ValidationFailed) -> None:
        """Raise `error` naming every problem (both languages), or return when there is none."""
        if problems:
            raise error("; ".join(p["message"] for p in problems),
                        "；".join(p["message_zh"] for p in problems), details=problems)


@dataclass(frozen=True)
class Service:
    name: str
    func: Callable[..., Any]
    context: bool
    params: frozenset[str]
    required: frozenset[str]


_REGISTRY: dict[str, Service] = {}


def service(name: str, *, context: bool = False):
    """Register `func` under `name` for `<spiffworkflow:serviceTaskOperator id="name">`."""

    def register(func: Callable[..., Any]) -> Callable[..., Any]:
        sig = inspect.signature(func)
        names = [p for p in sig.parameters if p != "ctx"]
        required = [
            p.name for p in sig.parameters.values()
            if p.name != "ctx" and p.default is inspect.Parameter.empty
            and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        ]
        if name in _REGISTRY and _REGISTRY[name].func is not func:
            raise ValueError(f"service {name!r} registered twice")
        _REGISTRY[name] = Service(name, func, context, frozenset(names), frozenset(required))
        return func

    return register


def load_all() -> None:
    """Register every process (see `registry`): importing their packages registers their services."""
    from . import registry

    registry.load()


def get(name: str) -> Service:
    load_all()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"no service named {name!r} is registered") from None


def names() -> list[str]:
    load_all()
    return sorted(_REGISTRY)


def check_call(name: str, params: set[str], *, where: str) -> None:
    """Deploy-time check that a service task names a registered function with fitting parameters."""
    load_all()
    svc = _REGISTRY.get(name)
    if svc is None:
        raise DeployError(f"{where}: service {name!r} is not registered",
                          f"{where}：服务 {name!r} 未注册")
    has_var_kw = any(p.kind == p.VAR_KEYWORD for p in inspect.signature(svc.func).parameters.values())
    unknown = params - svc.params
    if unknown and not has_var_kw:
        raise DeployError(f"{where}: service {name!r} has no parameter(s) {sorted(unknown)}",
                          f"{where}：服务 {name!r} 没有参数 {sorted(unknown)}")
    missing = svc.required - params
    if missing:
        raise DeployError(f"{where}: service {name!r} needs parameter(s) {sorted(missing)}",
                          f"{where}：服务 {name!r} 缺少参数 {sorted(missing)}")


def call(name: str, params: dict[str, Any], ctx: ServiceContext | None, task: Any = None) -> Any:
    svc = get(name)
    if svc.context:
        if ctx is None:
            raise RuntimeError(f"service {name!r} needs a context")
        if task is not None:
            ctx.extra["task"] = task
        return svc.func(ctx, **params)
    return svc.func(**params)
