"""Drive a prior-review case through its steps (service layer), with uploaded owner rolls and ballots."""
from __future__ import annotations

from pathlib import Path

from engine.attachments import reference, store_attachment
from engine.runtime.service import Runtime, deploy

ROOT = Path(__file__).resolve().parents[2]
BPMN = ROOT / "bpmn" / "prior_review.bpmn"
FORMS = ROOT / "forms"
COMPOUND = "PK-JP-XC-01"


def deploy_prior_review(runtime: Runtime):
    return deploy(runtime, [BPMN], FORMS)


def attach(runtime: Runtime, filename: str, content: bytes, case_number: str | None = None,
           actor: str = "community") -> dict:
    from sqlalchemy import select

    from engine.db.models import Case

    with runtime.uow() as s:
        case_id = s.scalar(select(Case.id).where(Case.case_number == case_number)) if case_number else None
        return reference(store_attachment(s, filename=filename, content=content, actor=actor,
                                          now=runtime.now(), case_id=case_id))


def roll_csv(n: int = 100, area: str = "100") -> bytes:
    """n owners with one unit of equal area each: shares of owners and of area coincide."""
    lines = ["unit_id,owner_id,owner_name,area_m2"]
    lines += [f"U{i:03d},O{i:03d},业主{i},{area}" for i in range(1, n + 1)]
    return ("\n".join(lines) + "\n").encode("utf-8")


def ballots_csv(items: list[str], agree: int, disagree: int, abstain: int = 0) -> bytes:
    """Owners O001… vote: the first `agree` agree, the next `disagree` disagree, then abstain."""
    lines = ["owner_id,item,vote"]
    i = 0
    for vote, count in (("同意", agree), ("反对", disagree), ("弃权", abstain)):
        for _ in range(count):
            i += 1
            lines += [f"O{i:03d},{item},{vote}" for item in items]
    return ("\n".join(lines) + "\n").encode("utf-8")


def submission(matter_code: str, **extra) -> dict:
    d = {"title": f"关于{matter_code}的议案", "matter_code": matter_code, "submitter_kind": "owners_committee",
         "submitter_name": "明发滨江新城小区业主委员会", "description": "具体方案见附件。"}
    d.update(extra)
    return d


def confirm(decision: str = "confirm_unlisted", reclassify_to: str | None = None) -> dict:
    """The party branch's word on a "not on the list" proposal."""
    d = {"classification_decision": decision, "classification_reason": "经支委会研究。"}
    if reclassify_to:
        d["reclassify_to"] = reclassify_to
    return d


def branch_secretary(runtime: Runtime, compound: str):
    """A party-branch secretary of `compound` (the demo has one for PK-JP-XC-01 only)."""
    from engine.orgs import ensure_user
    from engine.runtime.actors import load_actor

    username = f"branch_{compound.lower().replace('-', '_')}"
    with runtime.uow() as s:
        ensure_user(s, username, "党支部书记", "party_branch_secretary", compound, None, runtime.now())
    with runtime.uow() as s:
        return load_actor(s, username)


def review(runtime: Runtime, outcome: str = "agree") -> dict:
    d = {"review_outcome": outcome, "review_opinion": ["程序合规，方案可行。"], "meeting_date": "2026-11-23",
         "attendees": ["陈书记", "支委甲", "支委乙"],
         "minutes": attach(runtime, "支委会记录.txt", "支委会记录".encode(), actor="branch")}
    if outcome == "agree_with_changes":
        d["required_changes"] = "请补充三家以上报价。"
    return d


def committee_decision(runtime: Runtime, total: int = 7, present: int = 6, agree: int = 5) -> dict:
    return {"meeting_date": "2026-11-25", "members_total": total, "members_present": present,
            "members_agree": agree, "decision_text": "同意按方案执行。",
            "minutes": attach(runtime, "业委会会议记录.txt", "会议记录".encode())}


def arrange_vote(runtime: Runtime, vote_start: str | None = None, items: list[str] | None = None,
                 owners: int = 100) -> dict:
    """Voting from 16 days after the (runtime's) today unless `vote_start` is given."""
    if vote_start is None:
        from datetime import timedelta

        from engine.domain.periods import civil_date

        vote_start = (civil_date(runtime.now()) + timedelta(days=16)).isoformat()
    return {"vote_start": vote_start, "vote_days": 7, "vote_form": "书面征求意见", "vote_place": "小区物业服务中心一楼",
            "vote_items": items or ["同意本议案"], "owner_roll": attach(runtime, "业主名册.csv", roll_csv(owners))}


def count_votes(runtime: Runtime, items: list[str], agree: int, disagree: int, abstain: int = 0) -> dict:
    return {"ballots": attach(runtime, "选票.csv", ballots_csv(items, agree, disagree, abstain)),
            "counters": ["计票人甲", "监票人乙"]}


def execution() -> dict:
    return {"execution_summary": "已按决定执行。", "publicity_days": 7,
            "execution_entries": [{"date": "2026-12-20", "item": "电梯维修", "amount": 120000.5, "note": "合同价"},
                                  {"date": "2026-12-22", "item": "监理费", "amount": 3000}]}


def only_task(runtime: Runtime, case_number: str, actor) -> str:
    view = runtime.get_case(case_number, actor)
    assert len(view.tasks) == 1, [t["title"] for t in view.tasks]
    return view.tasks[0]["id"]


def task_named(runtime: Runtime, case_number: str, actor, name: str) -> str:
    view = runtime.get_case(case_number, actor)
    names = [t["name"] for t in view.tasks]
    assert names == [name], names
    return view.tasks[0]["id"]


def events(runtime: Runtime, case_number: str) -> list[tuple[str, str | None]]:
    """(action, task_name) of the case's audit chain, in order."""
    from sqlalchemy import select

    from engine.audit import case_chain
    from engine.db.models import AuditEvent

    with runtime.uow() as s:
        return [(a, n) for a, n in s.execute(select(AuditEvent.action, AuditEvent.task_name)
                                             .where(AuditEvent.chain == case_chain(case_number))
                                             .order_by(AuditEvent.seq))]


def documents(runtime: Runtime, case_number: str) -> list[str]:
    """Titles of the notices issued on the case, oldest first."""
    from sqlalchemy import select

    from engine.db.models import Case, Document

    with runtime.uow() as s:
        case_id = s.scalar(select(Case.id).where(Case.case_number == case_number))
        return list(s.scalars(select(Document.title).where(Document.case_id == case_id).order_by(Document.id)))


def start(runtime: Runtime, actors, matter_code: str, **extra) -> str:
    """Open a case and submit the matter; returns the case number."""
    cn = runtime.start_case("prior_review", COMPOUND, actors["community"]).case_number
    runtime.complete_task(task_named(runtime, cn, actors["community"], "submit"), actors["community"],
                          submission(matter_code, **extra))
    return cn


def decide(runtime: Runtime, actors, cn: str, clock, *, assembly: bool, agree: int = 80, disagree: int = 20,
           items: list[str] | None = None):
    """From the decision step to the published result (and, when passed, execution and publicity)."""
    c = actors["community"]
    items = items or ["同意本议案"]
    if assembly:
        runtime.complete_task(task_named(runtime, cn, c, "arrange_vote"), c, arrange_vote(runtime, items=items))
        clock.advance(days=25)
        assert runtime.run_due_timers() == 1
        view = runtime.complete_task(task_named(runtime, cn, c, "count_votes"), c,
                                     count_votes(runtime, items, agree, disagree, 100 - agree - disagree))
    else:
        view = runtime.complete_task(task_named(runtime, cn, c, "committee_decision"), c, committee_decision(runtime))
    if view.status == "completed":
        return view
    runtime.complete_task(task_named(runtime, cn, c, "execution"), c, execution())
    clock.advance(days=12)
    assert runtime.run_due_timers() == 1
    return runtime.get_case(cn, c)
