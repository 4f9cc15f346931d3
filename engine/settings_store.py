"""Versioned configuration as data (negative-list grounds, prior-review catalogue, mediation
deadlines …), kept per organisation unit in `setting_version`.

A value set on a street applies to its communities and compounds unless one of them sets its own;
the nearest unit up the path wins, then the global row (org_unit_id NULL), then the caller's
default. Every change is a new version with an audit event; old versions stay readable, so a
case can pin the version it started on.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import audit
from engine.db.models import OrgUnit, SettingVersion


@dataclass(frozen=True)
class SettingValue:
    key: str
    org_code: str | None  # where it was set (None: global or the built-in default)
    version: int  # 0 = the built-in default
    value: Any
    setting_id: int | None = None


def _units_up(session: Session, org: OrgUnit | None) -> list[OrgUnit]:
    if org is None:
        return []
    codes = [c for c in org.path.split("/") if c]
    units = {u.code: u for u in session.scalars(select(OrgUnit).where(OrgUnit.code.in_(codes)))}
    return [units[c] for c in reversed(codes) if c in units]


def get_setting(session: Session, key: str, org: OrgUnit | None, default: Any) -> SettingValue:
    """The effective value for `org` (nearest set value up its path)."""
    for unit in [*_units_up(session, org), None]:
        row = session.scalar(
            select(SettingVersion)
            .where(SettingVersion.key == key,
                   SettingVersion.org_unit_id.is_(None) if unit is None else SettingVersion.org_unit_id == unit.id)
            .order_by(SettingVersion.version.desc()).limit(1))
        if row is not None:
            return SettingValue(key, unit.code if unit else None, row.version, json.loads(row.value), row.id)
    return SettingValue(key, None, 0, default)


def get_setting_version(session: Session, setting_id: int) -> SettingValue:
    """A pinned version, exactly as it was."""
    row = session.get_one(SettingVersion, setting_id)  # pins name stored versions, never deleted
    org = session.get(OrgUnit, row.org_unit_id) if row.org_unit_id else None
    return SettingValue(row.key, org.code if org else None, row.version, json.loads(row.value), row.id)


def put_setting(session: Session, key: str, org: OrgUnit | None, value: Any, actor: str, now: datetime,
                note: dict[str, Any] | None = None) -> SettingValue:
    """Store `value` as the next version for (`key`, `org`), audited on chain setting:<key>:<org>;
    `note` adds what the owner of the setting wants the audit event to say about the change."""
    last = session.scalar(
        select(SettingVersion.version)
        .where(SettingVersion.key == key,
               SettingVersion.org_unit_id.is_(None) if org is None else SettingVersion.org_unit_id == org.id)
        .order_by(SettingVersion.version.desc()).limit(1))
    version = (last or 0) + 1
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    row = SettingVersion(key=key, org_unit_id=org.id if org else None, version=version, value=text,
                         created_by=actor, created_at=now)
    session.add(row)
    session.flush()
    audit.append(session, chain=f"setting:{key}:{org.code if org else '*'}", actor=actor,
                 action="setting_changed", after=value, detail={**(note or {}), "key": key, "version": version}, now=now)
    return SettingValue(key, org.code if org else None, version, value, row.id)


def setting_history(session: Session, key: str, org: OrgUnit | None) -> list[SettingVersion]:
    return list(session.scalars(
        select(SettingVersion)
        .where(SettingVersion.key == key,
               SettingVersion.org_unit_id.is_(None) if org is None else SettingVersion.org_unit_id == org.id)
        .order_by(SettingVersion.version)))
