"""Helpers that drive a tiered-mediation case the way the window staff and mediators would."""
from __future__ import annotations

from datetime import date
from pathlib import Path

from engine.runtime.actors import Actor
from engine.runtime.service import deploy

ROOT = Path(__file__).resolve().parents[2]
BPMN = ROOT / "bpmn" / "tiered_mediation.bpmn"
FORMS = ROOT / "forms"
COMPOUND = "PK-JP-XC-01"
SYSTEM = Actor.system("test")
LEVEL_USER = {"community": "community", "street": "street", "district": "mediator"}

PARTIES = [
    {"kind": "owner", "side": "applicant", "name": "张建国", "phone": "13800000001", "address": "明发滨江新城3栋201室",
     "gender": "男", "age": 56, "id_number": "320111197001010011"},
    {"kind": "property_company", "side": "respondent", "name": "南京明发物业服务有限公司", "phone": "025-58000000",
     "address": "浦口区江浦街道滨江大道8号", "representative": "王经理"},
]


def deploy_mediation(runtime) -> None:
    deploy(runtime, [BPMN], FORMS)


def intake_form(**over) -> dict:
    form = {"source": "walk_in", "category": "fees", "parties": PARTIES,
            "facts": "业主认为2026年物业服务费上调未经业主大会决定，拒绝按新标准缴费；物业公司催缴并停止门禁卡授权。",
            "claims": "按原标准收费并恢复门禁"}
    form.update(over)
    return form


def tasks(runtime, case_number: str) -> list[dict]:
    return runtime.get_case(case_number, SYSTEM).tasks


def task(runtime, case_number: str, name_suffix: str) -> dict:
    """The one open task whose spec name ends with `name_suffix`."""
    found = [t for t in tasks(runtime, case_number) if t["name"].endswith(name_suffix)]
    assert len(found) == 1, (name_suffix, [t["name"] for t in tasks(runtime, case_number)])
    return found[0]


def complete(runtime, actors, case_number: str, name_suffix: str, data: dict, user: str | None = None):
    t = task(runtime, case_number, name_suffix)
    who = actors[user] if user else _actor_for(actors, t["role"])
    return runtime.complete_task(t["id"], who, data)


def _actor_for(actors, role: str):
    return next(a for a in actors.values() if a.role == role and a.username != "community2")


def open_case(runtime, actors, *, start_level: str = "community", reason: str | None = None, **intake) -> str:
    """Register at the window and accept: returns the case number, now at `start_level`."""
    view = runtime.start_case("tiered_mediation", COMPOUND, actors["community"], {})
    complete(runtime, actors, view.case_number, "register", intake_form(**intake))
    review = {"accepted": True, "start_level": start_level, "mediation_place": "新城社区调解室"}
    if reason:
        review["start_level_reason"] = reason
    complete(runtime, actors, view.case_number, "review", review)
    return view.case_number


def assign(runtime, actors, case_number: str, level: str, name: str | None = None) -> None:
    """Assign the level's mediator: by default the demo user who holds that level's role."""
    name = name or actors[LEVEL_USER[level]].display_name
    complete(runtime, actors, case_number, f"{level}_assign", {"mediator_name": name, "mediator_phone": "13900000000"})


def session(outcome: str = "continue", on: date = date(2026, 11, 21), **extra) -> dict:
    form = {"session_date": on.isoformat(), "session_attendees": ["张建国", "王经理（物业）"],
            "session_summary": "听取双方陈述，释明《物业管理条例》相关规定。", "outcome": outcome}
    form.update(extra)
    return form


AGREEMENT = {
    "agreement_facts": "物业公司于2026年10月起按新标准收取物业服务费，业主张建国以调价未经业主大会决定为由拒缴。",
    "disputed_matters": "物业服务费调价是否有效；门禁卡停用是否妥当。",
    "responsibilities": "物业公司调价程序不当，应承担主要责任；业主拒缴费用亦有不妥。",
    "terms": ["物业公司自即日起按原标准收取物业服务费并恢复门禁卡授权。", "张建国于协议签订后十日内缴清2026年度物业服务费。"],
    "performance_manner": "现金或银行转账缴纳；物业公司当场恢复门禁",
    "performance_deadline": "2026-12-31",
}


def settle(runtime, actors, case_number: str, level: str):
    return complete(runtime, actors, case_number, f"{level}_mediate", session("settled", **AGREEMENT))


def sign(runtime, actors, case_number: str, level: str, on: str | None = None, **over):
    form = {"signed_on": on or runtime.now().date().isoformat(), "mediator_signed": True, "committee_sealed": True,
            "party_signatures": [{"name": p["name"], "signed": True, "method": "signature"} for p in PARTIES]}
    form.update(over)
    return complete(runtime, actors, case_number, f"{level}_sign", form)


def fail(runtime, actors, case_number: str, level: str):
    return complete(runtime, actors, case_number, f"{level}_mediate",
                    session("failed", failure_reason="双方分歧较大，物业公司坚持新标准"))
