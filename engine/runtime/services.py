"""The registry of functions BPMN service tasks may call — the only code a service task runs.

A process module registers its functions with `@service("name")`. A function receives the
service-task parameters (already evaluated, restricted expressions) as keyword arguments; with
`context=True` it also gets a `ServiceContext` first: the unit-of-work session, the clock's
now, the case and the acting user, so that what it writes commits with the case's state.
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .errors import DeployError


@dataclass
class ServiceContext:
    session: Any  # sqlalchemy.orm.Session
    now: datetime
    actor: str
    case: Any = None  # engine.db.models.Case (None while validating)
    settings: Any = None  # engine.config.Settings
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Service:
    name: str
    func: Callable[..., Any]
    context: bool
    params: frozenset[str]
    required: frozenset[str]


_REGISTRY: dict[str, Service] = {}
_loaded = False


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
    """Import every module in `engine.processes` so that their services register."""
    global _loaded
    if _loaded:
        return
    import engine.processes as pkg

    for info in pkgutil.iter_modules(pkg.__path__):
        importlib.import_module(f"{pkg.__name__}.{info.name}")
    _loaded = True


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
