"""The process registry: one `ProcessDescriptor` per process, the only list of processes there is.

A process is a BPMN file, its forms, its templates and one Python package. The package exports
its descriptor(s) — `DESCRIPTOR` or `DESCRIPTORS` — saying everything the rest of the system needs
to know about it: key, case-number prefix, who may start it, its Chinese title and labels, its
settings with their validators, its notice kinds, its dashboard report, its demo cases and its
invariants. Its service tasks, pick lists and panels register with `@service`, `@choice_list`
and `@panel` (the runtime's registries) when the package is imported.

The runtime never imports a process. It imports, by name, the packages listed in
`PROCESS_PACKAGES` (and in the `HONGWU_PROCESS_PACKAGES` environment variable, comma-separated):
`engine.processes` is the entry point of the built-in three. A test adds its own with
`add_package`.
"""
from __future__ import annotations

import importlib
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

PROCESS_PACKAGES: list[str] = ["engine.processes"]
ENV_PACKAGES = "HONGWU_PROCESS_PACKAGES"


@dataclass(frozen=True)
class SettingSpec:
    """A street-editable setting of a process: its default, its validator (a list of problems, each
    "中文 / English"), readable names of its keys, and — where the setting has rules beyond its
    validator (who may change it, per street only) — the owner's `save(session, org, value, actor,
    now)` that stores it."""

    key: str
    title: str
    default: Callable[[], Any]
    validate: Callable[[Any], list[str]]
    labels: Mapping[str, str] = field(default_factory=dict)
    save: Callable[..., Any] | None = None
    per_street: bool = False
    # A setting whose keys each take one of a few values: {key: {value: label}} (a choice editor).
    choices: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    # The settings editor reads these names (they are what a domain module's setting exposes).
    @property
    def SETTING_KEY(self) -> str:  # noqa: N802
        return self.key

    def default_setting(self) -> Any:
        return self.default()

    def validate_setting(self, value: Any) -> list[str]:
        return list(self.validate(value))

    @property
    def SETTING_FIELDS(self) -> Mapping[str, str]:  # noqa: N802
        return self.labels


@dataclass(frozen=True)
class Report:
    """A panel of the street dashboard: `function(session, street_code)` or, with `period=True`,
    `function(session, street_code, date_from, date_to, now)`; `template` is the panel's partial
    under engine/web/templates/ (None: the generic table of the returned dict)."""

    panel: str
    title: str
    function: Callable[..., Any]
    period: bool = False
    template: str | None = None


@dataclass(frozen=True)
class DemoUpload:
    """A file a demo step attaches (stored as `actor` in the case's attachments)."""

    filename: str
    text: str
    actor: str


@dataclass(frozen=True)
class DemoStep:
    """Complete the open task whose name ends with `task`, as demo user `user`, with `data`
    (any `DemoUpload` in it is stored first and replaced by its reference)."""

    task: str
    user: str
    data: Mapping[str, Any]


@dataclass(frozen=True)
class DemoCase:
    """A case `hongwu init --demo` opens in `compound` as demo user `user`, then walks."""

    compound: str
    user: str
    steps: tuple[DemoStep, ...] = ()


@dataclass(frozen=True)
class ProcessDescriptor:
    key: str  # the BPMN process id
    title: str  # Chinese, as people see it
    case_prefix: str  # case numbers read PREFIX-YYYY-NNNNNN
    starters: frozenset[str]  # roles that may open a case (jurisdiction is checked as well)
    labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # field -> code -> 中文
    data_labels: Mapping[str, str] = field(default_factory=dict)  # summary/data key -> 中文
    action_labels: Mapping[str, str] = field(default_factory=dict)  # audit action -> 中文
    settings: tuple[SettingSpec, ...] = ()
    notice_kinds: tuple[Any, ...] = ()  # engine.notices.kinds.NoticeKind
    report: Report | None = None
    demo: tuple[DemoCase, ...] = ()
    invariants: tuple[Any, ...] = ()  # engine.runtime.invariants.Invariant


_DESCRIPTORS: dict[str, ProcessDescriptor] = {}
_loaded: set[str] = set()
_lock = threading.RLock()
_loading = False
_generation = 0  # bumped by every registration: derived tables recompute when it moves


def register(descriptor: ProcessDescriptor) -> ProcessDescriptor:
    """Add a process (idempotent for the same descriptor); refuse a second process with the same
    key, case prefix, setting (unless it is the same spec) or notice kind."""
    from . import invariants as inv

    with _lock:
        known = _DESCRIPTORS.get(descriptor.key)
        if known is descriptor or known == descriptor:
            return known
        if known is not None:
            raise ValueError(f"process {descriptor.key!r} registered twice")
        for other in _DESCRIPTORS.values():
            if other.case_prefix == descriptor.case_prefix:
                raise ValueError(f"case prefix {descriptor.case_prefix!r} of {descriptor.key!r} "
                                 f"is already {other.key!r}'s")
            # One spec object shared by several processes (the vote's second factor) is one setting.
            clash = {s.key for s in other.settings for t in descriptor.settings if s.key == t.key and s is not t}
            clash |= {k.kind for k in other.notice_kinds} & {k.kind for k in descriptor.notice_kinds}
            if clash:
                raise ValueError(f"{descriptor.key!r} declares {sorted(clash)}, already {other.key!r}'s")
        if descriptor.invariants:
            inv.invariants(descriptor.key, *descriptor.invariants)
        _DESCRIPTORS[descriptor.key] = descriptor
        global _generation
        _generation += 1
        return descriptor


def _packages() -> list[str]:
    extra = [p.strip() for p in os.environ.get(ENV_PACKAGES, "").split(",") if p.strip()]
    return PROCESS_PACKAGES + [p for p in extra if p not in PROCESS_PACKAGES]


def _exported(module: Any) -> Iterable[ProcessDescriptor] | None:
    if hasattr(module, "DESCRIPTORS"):
        return tuple(module.DESCRIPTORS)
    if hasattr(module, "DESCRIPTOR"):
        return (module.DESCRIPTOR,)
    if getattr(getattr(module, "__spec__", None), "_initializing", False):
        return None  # asked for while the package itself is being imported: load it later
    raise ValueError(f"process package {module.__name__!r} exports no DESCRIPTOR")


def load() -> None:
    """Import each process package not imported yet and register what it exports."""
    global _loading
    with _lock:
        if _loading:  # a package being imported asked for the registry: it sees what is there
            return
        pending = [p for p in _packages() if p not in _loaded]
        if not pending:
            return
        _loading = True
        try:
            for name in pending:
                exported = _exported(importlib.import_module(name))
                if exported is None:
                    continue
                for descriptor in exported:
                    register(descriptor)
                _loaded.add(name)
        finally:
            _loading = False
_generation = 0  # bumped by every registration: derived tables recompute when it moves


def add_package(name: str) -> None:
    """Register the processes of another package (a test's sample process, a local addition)."""
    with _lock:
        if name not in PROCESS_PACKAGES:
            PROCESS_PACKAGES.append(name)
    load()


def remove_package(name: str) -> None:
    """Forget a package added with `add_package` and the processes it exported (a test cleans up
    after itself, so that its sample process shows on no other test's pages)."""
    global _generation
    from . import invariants as inv

    with _lock:
        module = importlib.import_module(name)
        for descriptor in _exported(module) or ():
            if _DESCRIPTORS.get(descriptor.key) == descriptor:
                del _DESCRIPTORS[descriptor.key]
                inv._REGISTRY.pop(descriptor.key, None)
        if name in PROCESS_PACKAGES:
            PROCESS_PACKAGES.remove(name)
        _loaded.discard(name)
        _generation += 1


def descriptors() -> list[ProcessDescriptor]:
    load()
    return list(_DESCRIPTORS.values())


def get(key: str) -> ProcessDescriptor | None:
    load()
    return _DESCRIPTORS.get(key)


def case_prefix(key: str) -> str:
    d = get(key)
    return d.case_prefix if d is not None else "AJ"


# Who may open a case of a process that declares no starters of its own (a test's sample): staff.
DEFAULT_STARTERS = frozenset({"street_staff", "community_staff"})


def starters(key: str) -> frozenset[str]:
    d = get(key)
    return d.starters if d is not None and d.starters else DEFAULT_STARTERS


def changed() -> None:
    """Something derived tables read changed outside a registration (a notice kind added by hand)."""
    global _generation
    with _lock:
        _generation += 1


def titles() -> dict[str, str]:
    return {d.key: d.title for d in descriptors()}


def settings() -> dict[str, SettingSpec]:
    return {s.key: s for d in descriptors() for s in d.settings}


def notice_kinds() -> list[Any]:
    return [k for d in descriptors() for k in d.notice_kinds]


def reports() -> dict[str, Report]:
    return {d.report.panel: d.report for d in descriptors() if d.report is not None}


def summary_labels() -> dict[str, str]:
    """Every process's summary labels, in registry order (the order a case page lists them)."""
    out: dict[str, str] = {}
    for d in descriptors():
        out.update(d.data_labels)
    return out


def action_labels() -> dict[str, str]:
    return {k: v for d in descriptors() for k, v in d.action_labels.items()}


def value_labels(key: str) -> dict[Any, str]:
    """Chinese names of the coded values of `key`, from every process that declares them."""
    out: dict[Any, str] = {}
    for d in descriptors():
        out.update(d.labels.get(key) or {})
    return out


class _Derived(Mapping[str, Any]):
    """A read-only mapping computed from the registry when read, so that a module-level table
    (`CASE_PREFIX`, `PROCESS_ZH`…) keeps its shape and still sees processes registered later."""

    def __init__(self, make: Callable[[], Mapping[str, Any]]):
        self._make = make
        self._made: tuple[int, Mapping[str, Any]] | None = None

    def _now(self) -> Mapping[str, Any]:
        load()
        made = self._made
        if made is None or made[0] != _generation:
            made = self._made = (_generation, MappingProxyType(dict(self._make())))
        return made[1]

    def get(self, key: str, default: Any = None) -> Any:
        return self._now().get(key, default)

    def __getitem__(self, key: str) -> Any:
        return self._now()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._now())

    def __len__(self) -> int:
        return len(self._now())

    def __repr__(self) -> str:
        return repr(dict(self._now()))


def derived(make: Callable[[], Mapping[str, Any]]) -> Mapping[str, Any]:
    return _Derived(make)
