"""Filing a dispute from outside (the 12345 hotline, a grid system, `hongwu mediation intake`):
the payload is checked against the published schema, the caller's reach is checked, and a
repeated (source, reference) answers with the case opened the first time."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from engine.db.models import Case, OrgUnit
from engine.domain import mediation as rules
from engine.processes.mediation import INTAKE_FIELDS, PROCESS_KEY, published_schema, validate_intake
from engine.runtime.actors import Actor
from engine.runtime.errors import Forbidden, ValidationFailed
from engine.runtime.services import ServiceContext

__all__ = ["intake_case", "published_schema", "validate_intake"]


def intake_case(runtime: Any, payload: Any, actor: Actor, *, within_path: str | None = None):
    """Open a mediation case from a validated payload, or return the case already opened for the
    same (source, reference): a repeated request never makes a duplicate. `within_path` limits
    the compounds the caller may file into (an API token's organisation).

    Returns (CaseView, created: bool).
    """
    problems = validate_intake(payload)
    if problems:
        raise ValidationFailed("the request is invalid: " + "; ".join(p["message"] for p in problems),
                               "请求内容有误：" + "；".join(p["message_zh"] for p in problems), details=problems)
    source = payload.get("source", "hotline_12345")
    external = (f"mediation:{source}", payload["reference"])
    with runtime.uow() as s:
        compound = s.scalar(select(OrgUnit).where(OrgUnit.code == payload["compound"]))
        if compound is None or compound.kind != "compound":
            raise ValidationFailed(
                f"unknown compound {payload['compound']!r}", f"小区 {payload['compound']!r} 不存在",
                details=[ServiceContext.problem("compound", f"compound: unknown compound {payload['compound']!r}",
                                  f"「小区编码」{payload['compound']} 不存在")])
        if within_path is not None and not compound.path.startswith(within_path):
            raise Forbidden(f"this token may not file cases in {compound.code}",
                            f"该令牌无权向「{compound.name}」报送纠纷")
    data = {name: payload[name] for name in INTAKE_FIELDS if name in payload}
    data.setdefault("source", source)
    data.update({"intake_prefilled": True, "external_ref": payload["reference"]})
    title = f"{compound.name} · {rules.CATEGORIES.get(payload['category'], '物业')}纠纷调解"
    before = _existing(runtime, external)
    if before is not None:
        return runtime.get_case(before, actor), False
    try:
        view = runtime.start_case(PROCESS_KEY, compound.code, actor, data, title=title, external=external)
        return view, view.created  # False: a concurrent request with the same reference got there first
    except IntegrityError:
        # The same reference was filed concurrently and won the unique (source, reference) pair.
        before = _existing(runtime, external)
        if before is None:
            raise
        return runtime.get_case(before, actor), False


def _existing(runtime: Any, external: tuple[str, str]) -> str | None:

    with runtime.uow() as s:
        return s.scalar(select(Case.case_number).where(Case.external_source == external[0],
                                                        Case.external_ref == external[1]))
