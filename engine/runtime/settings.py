"""Settings as an application service: which settings exist, reading them for an editor, and one
`save_setting` that every adapter (admin page, CLI) goes through.

Saving checks the value with the setting's own validator (in its domain module), then stores it.
A setting whose owner has rules beyond the validator (the prior-review catalogue: only per
street, only by that street's staff or an administrator, deviations named in the audit event)
declares a saver in its descriptor (`SettingSpec.save`), which checks who may and then calls
`check_setting` itself. Which settings exist comes from the processes' descriptors.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from engine.db.models import OrgUnit, User
from engine.orgs import org_by_code
from engine.settings_store import SettingValue, get_setting, get_setting_version, put_setting, setting_history

from . import registry
from .actors import Actor
from .errors import Forbidden, NotFound, ValidationFailed
from .registry import SettingSpec

# key -> (its SettingSpec, its Chinese title), from the processes' descriptors (registry order)
SETTING_MODULES = registry.derived(lambda: {k: (spec, spec.title) for k, spec in registry.settings().items()})


def setting_module(key: str) -> SettingSpec | None:
    """The setting as its process declares it (default, validator, labels, owner's saver)."""
    return registry.settings().get(key)


def setting_list() -> list[dict[str, Any]]:
    return [{"key": k, "title": t, "available": setting_module(k) is not None} for k, (_m, t) in SETTING_MODULES.items()]


def _module_or_refuse(key: str) -> SettingSpec:
    module = setting_module(key)
    if key not in SETTING_MODULES or module is None:
        raise ValidationFailed(f"setting {key!r} is not available", f"设置项「{key}」暂不可用")
    return module


def check_setting(key: str, value: Any) -> None:
    """The setting's own validator; its problems («中文 / English») become one ValidationFailed."""
    problems = list(_module_or_refuse(key).validate_setting(value))
    if problems:
        raise ValidationFailed(
            f"{key} is invalid: " + "; ".join(p.split(" / ", 1)[-1] for p in problems),
            f"{SETTING_MODULES[key][1]}有误：" + "；".join(p.split(" / ", 1)[0] for p in problems),
            details=[{"field": key, "message": p.split(" / ", 1)[-1], "message_zh": p.split(" / ", 1)[0]}
                     for p in problems])


def save_setting(rt: Any, key: str, org_code: str | None, value: Any, actor: Actor) -> SettingValue:
    """Validate and store the next version of `key` for `org_code` (None: everywhere), with its
    audit event, in one transaction. Only administrators, or whoever the owner's saver admits."""
    saver = _module_or_refuse(key).save
    if saver is None:
        # Who may, then what: a refused user learns nothing about the value's problems.
        if not actor.is_admin:
            raise Forbidden(f"{actor.username} may not change setting {key}", "仅系统管理员可以修改该设置")
        check_setting(key, value)
    with rt.uow() as s:
        org = org_by_code(s, org_code) if org_code else None
        if saver is not None:
            return saver(s, org, value, actor, rt.now())
        return put_setting(s, key, org, value, actor.username, rt.now())


def effective_setting(rt: Any, key: str, org_code: str | None, *, kind: str | None = None,
                      version: int | None = None) -> SettingValue:
    """The value that applies to `org_code` now, or its stored `version`; `kind` refuses other
    kinds of unit (the catalogue is read per street)."""
    module = _module_or_refuse(key)
    with rt.uow() as s:
        org = org_by_code(s, org_code) if org_code else None
        if kind is not None and (org is None or org.kind != kind):
            raise ValidationFailed(f"{org_code} is not a {kind}", f"{org_code} 不是{_KIND_ZH.get(kind, kind)}")
        if version is None:
            return get_setting(s, key, org, module.default_setting())
        rows = [r for r in setting_history(s, key, org) if r.version == version]
        if not rows:
            raise NotFound(f"no version {version} of {key} for {org_code}", f"{org_code} 没有第 {version} 版设置")
        return get_setting_version(s, rows[0].id)


_KIND_ZH = {"district": "区", "street": "街道", "community": "社区", "compound": "小区"}


def setting_versions(rt: Any, key: str, org_code: str | None, *, kind: str | None = None) -> list[dict[str, Any]]:
    """Every stored version of `key` set on `org_code`: who, when (newest first, as stored)."""
    with rt.uow() as s:
        org = org_by_code(s, org_code) if org_code else None
        if kind is not None and (org is None or org.kind != kind):
            raise ValidationFailed(f"{org_code} is not a {kind}", f"{org_code} 不是{_KIND_ZH.get(kind, kind)}")
        rows = setting_history(s, key, org)
        names = dict(s.execute(select(User.username, User.display_name)
                               .where(User.username.in_({h.created_by for h in rows}))).all())
        return [{"version": r.version, "setting_id": r.id, "created_by": r.created_by,
                 "created_by_name": names.get(r.created_by), "created_at": r.created_at} for r in rows]


@dataclass(frozen=True)
class SettingEditor:
    """What the settings page shows: the units to choose from, the current value and its history."""
    orgs: list[tuple[str, str, str]]
    current: SettingValue | None
    history: list[dict[str, Any]]


def setting_editor(rt: Any, key: str, org_code: str | None) -> SettingEditor:
    module = setting_module(key)
    with rt.uow() as s:
        orgs = [(o.code, o.name, o.kind) for o in s.scalars(
            select(OrgUnit).where(OrgUnit.kind.in_(("district", "street", "community", "compound")))
            .order_by(OrgUnit.path))]
    if module is None:
        return SettingEditor(orgs, None, [])
    return SettingEditor(orgs, effective_setting(rt, key, org_code), setting_versions(rt, key, org_code))
