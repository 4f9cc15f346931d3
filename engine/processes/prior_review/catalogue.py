"""The catalogue of prior-review matters (先议事项目录) as a versioned, audited setting per street."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from engine.db.models import OrgUnit
from engine.domain import prior_review as pr
from engine.runtime.actors import Actor
from engine.runtime.errors import Forbidden, ValidationFailed
from engine.runtime.settings import check_setting
from engine.settings_store import SettingValue, get_setting, get_setting_version, put_setting

from ._shared import EDITOR_ROLES


def effective_catalogue(session: Session, org: OrgUnit | None) -> SettingValue:
    """The catalogue that applies to `org` now (the street's, else the built-in default)."""
    return get_setting(session, pr.SETTING_KEY, org, pr.default_setting())


def pinned_catalogue(session: Session, pin: dict | None) -> dict[str, Any]:
    """The catalogue version a case started on (version 0 = the built-in default)."""
    if pin and pin.get("setting_id"):
        return get_setting_version(session, int(pin["setting_id"])).value
    return pr.default_setting()


def save_catalogue(session: Session, street: OrgUnit | None, value: Any, actor: Actor, now: datetime) -> SettingValue:
    """Store a new version of `street`'s catalogue (audited by `put_setting`); refuse bad data or
    a user who is not the street's staff or an administrator."""
    if street is None:
        raise ValidationFailed("the prior-review catalogue is set per street", "先议事项目录按街道设置，请选择一个街道")
    if street.kind != "street":
        raise ValidationFailed(f"{street.code} is not a street", f"{street.code} 不是街道，先议事项目录按街道设置")
    if not actor.is_system and (actor.role not in EDITOR_ROLES or not actor.covers(street.path)):
        raise Forbidden(f"{actor.username} may not change the prior-review catalogue of {street.code}",
                        f"无权修改「{street.name}」的先议事项目录")
    check_setting(pr.SETTING_KEY, value)
    # Switching matters off or removing them is a deviation from the list: the audit event names it.
    previous = get_setting(session, pr.SETTING_KEY, street, None)
    deviations = pr.catalogue_deviations(previous.value if previous.org_code == street.code else None, value)
    return put_setting(session, pr.SETTING_KEY, street, value, actor.username, now,
                       note={"deviations": deviations} if deviations else None)


