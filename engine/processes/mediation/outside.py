"""Intake from outside hongwu's pages (API, CLI), and what the mediator and the one assigning see:
the parties pick list and the dispute panel."""
from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from engine.domain import mediation as rules
from engine.runtime.choices import choice_list
from engine.runtime.forms import validate_form
from engine.runtime.panels import panel, section

from ._shared import SCHEMA_PATH


@lru_cache(maxsize=1)
def published_schema() -> dict:
    """The intake schema published to integrations (`engine/schemas/mediation_case.schema.json`)."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def validate_intake(payload: Any) -> list[dict]:
    """Field errors (Chinese + English) of an intake payload against the published schema."""
    return validate_form(published_schema(), payload)


@choice_list("parties")
def party_choices(session, case, role: str, task_data: dict) -> list[tuple[str, str]]:
    """The parties registered at intake (who signs the agreement)."""
    side = {"applicant": "申请人", "respondent": "被申请人"}
    return [(p["name"], f"{p['name']}（{side.get(p.get('side'), '当事人')}）")
            for p in task_data.get("parties") or [] if p.get("name")]


_SESSION_OUTCOMES = {"continue": "继续调解", "extend": "经当事人同意延长期限", "settled": "达成调解协议",
                     "failed": "调解不成"}


@panel("dispute")
@panel("case:tiered_mediation")
def dispute_panel(session, case, task_data: dict) -> list[dict]:
    """The parties, their claims and what earlier levels did (for the mediator and the one assigning)."""
    parties = task_data.get("parties") or []
    side = {"applicant": "申请人", "respondent": "被申请人"}
    sections = [
        section("纠纷", facts=[("纠纷类别", rules.CATEGORIES.get(task_data.get("category") or "", task_data.get("category"))),
                             ("受理来源", rules.SOURCES.get(task_data.get("source") or "", task_data.get("source"))),
                             ("当事人诉求", task_data.get("claims"))],
                notes=[f"纠纷事实：{task_data['facts']}"] if task_data.get("facts") else []),
        section(f"当事人（{len(parties)} 方）", table={
            "headers": ["申请人/被申请人", "类别", "姓名或名称", "联系电话", "住所（房号）", "负责人/代表人"],
            "rows": [[side.get(p.get("side"), "—"), rules.PARTY_KINDS.get(p.get("kind"), "—"), p.get("name", ""),
                      p.get("phone", ""), p.get("address") or "—", p.get("representative") or "—"] for p in parties]}
                if parties else None, notes=[] if parties else ["尚未登记当事人（受理登记时填写）"]),
    ]
    for level in rules.LEVELS:
        record = (task_data.get("levels") or {}).get(level)
        if not record:
            continue
        mediator = record.get("mediator") or {}
        facts = [("调解员", mediator.get("name")), ("开始", (record.get("started_at") or "")[:10]),
                 ("结果", rules.LEVEL_RESULTS.get(record.get("result"), "进行中")),
                 ("调解不成的原因", record.get("failure_reason")) if record.get("failure_reason") else None]
        rows = [[s.get("date") or "—", "、".join(s.get("attendees") or []) or "—", s.get("summary") or "—",
                 _SESSION_OUTCOMES.get(s.get("outcome"), "—")] for s in record.get("sessions") or []]
        sections.append(section(f"{rules.LEVEL_ZH.get(level, level)}记录", facts=[f for f in facts if f],
                                table={"headers": ["日期", "参加人员", "调解情况", "结果"], "rows": rows} if rows else None))
    return sections


