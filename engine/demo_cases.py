"""Demo data for `hongwu init --demo`: organisations, accounts, and a few cases of each process,
advanced through the service layer as the people whose steps they are (so the history, notices
and inboxes are real). Loading twice adds nothing: cases are only made on an empty database."""
from __future__ import annotations

from sqlalchemy import func, select

from engine import demo
from engine.attachments import reference, store_attachment
from engine.db.models import Case, ProcessDefinition
from engine.runtime.actors import load_actor

COMPOUND = "PK-JP-XC-01"
ROLL = """unit_id,owner_id,owner_name,area_m2,building
1-101,O1,张伟,89.50,1
1-102,O1,张伟,60.00,1
1-201,O2,王芳,120.00,1
1-202,O3,李娜,95.25,1
2-101,O4,刘洋,88.00,2
2-102,O5,陈静,102.00,2
2-201,O6,杨帆,76.50,2
2-202,O7,赵磊,110.00,2
3-101,O8,黄敏,99.00,3
3-102,DEVELOPER,,130.00,3
"""
PARTIES = [
    {"kind": "owner", "side": "applicant", "name": "张建国", "phone": "13800000001",
     "address": "明发滨江新城3栋201室"},
    {"kind": "property_company", "side": "respondent", "name": "南京明发物业服务有限公司",
     "phone": "025-58000000", "address": "浦口区江浦街道滨江大道8号", "representative": "王经理"},
]


def _task(rt, actor, case_number: str, name: str) -> str:
    for t in rt.list_tasks(actor, limit=500):
        if t.case_number == case_number and t.name.endswith(name):
            return t.id
    raise LookupError(f"{case_number}: no open task {name} for {actor.username}")


def _upload(rt, case_number: str, filename: str, text: str, actor: str) -> dict:
    with rt.uow() as s:
        case_id = s.scalar(select(Case.id).where(Case.case_number == case_number))
        return reference(store_attachment(s, filename=filename, content=text.encode("utf-8"), actor=actor,
                                          now=rt.now(), case_id=case_id))


def _committee(rt, a) -> list[str]:
    street = a["street"]
    cn = rt.start_case("committee_election", COMPOUND, street, {}).case_number
    rt.complete_task(_task(rt, street, cn, "open_case"), street,
                     {"case": {"election_kind": "first", "seats": 5, "term_years": 5}})
    rt.complete_task(_task(rt, street, cn, "form_group"), street, {"group": {"members": [
        {"name": "王街道", "kind": "street", "position": "组长"},
        {"name": "张伟", "kind": "owner", "position": "副组长"},
        {"name": "李娜", "kind": "owner", "position": "成员"},
        {"name": "某开发公司代表", "kind": "developer", "position": "成员"},
        {"name": "黄敏", "kind": "owner", "position": "成员"}]}})
    rt.complete_task(_task(rt, street, cn, "confirm_roll"), street, {"roll": {
        "file": _upload(rt, cn, "业主名册.csv", ROLL, "street"), "inspection_place": "小区物业服务中心"}})
    second = rt.start_case("committee_election", "PK-JP-XC-02", street, {}).case_number
    return [cn, second]


def _prior_review(rt, a) -> list[str]:
    community = a["community"]
    cn = rt.start_case("prior_review", COMPOUND, community, {}).case_number
    rt.complete_task(_task(rt, community, cn, "submit"), community, {
        "title": "关于续聘物业服务企业的议案", "matter_code": "property_company", "submitter_kind": "owners_committee",
        "submitter_name": "明发滨江新城小区业主委员会", "description": "现物业服务合同将于2027年1月到期，拟续聘三年。"})
    return [cn]


def _mediation(rt, a) -> list[str]:
    community = a["community"]
    cn = rt.start_case("tiered_mediation", COMPOUND, community, {}).case_number
    rt.complete_task(_task(rt, community, cn, "register"), community, {
        "source": "walk_in", "category": "fees", "parties": PARTIES,
        "facts": "业主认为物业服务费上调未经业主大会决定，拒绝按新标准缴费；物业公司停止门禁卡授权。",
        "claims": "按原标准收费并恢复门禁"})
    rt.complete_task(_task(rt, community, cn, "review"), community,
                     {"accepted": True, "start_level": "community", "mediation_place": "新城社区调解室"})
    return [cn]


def load_demo(rt) -> dict:
    with rt.uow() as s:
        demo.seed(s, rt.now(), staff_every_unit=True)
        has_cases = s.scalar(select(func.count()).select_from(Case))
        deployed = set(s.scalars(select(ProcessDefinition.key)))
        actors = {u[0]: load_actor(s, u[0]) for u in demo.USERS}
    cases: list[str] = []
    if not has_cases:
        for key, make in (("committee_election", _committee), ("prior_review", _prior_review),
                          ("tiered_mediation", _mediation)):
            if key in deployed:
                cases += make(rt, actors)
    return {"users": [u[0] for u in demo.USERS + demo.STAFF], "password": demo.DEMO_PASSWORD, "cases": cases}
