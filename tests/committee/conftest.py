"""An election driver for the committee process tests: deploys the bundled definition and walks
tasks as the right people, with uploaded files stored as attachments."""
from __future__ import annotations

from pathlib import Path

import pytest

from engine.attachments import reference, store_attachment
from engine.processes.committee import DEMO_ROLL

ROOT = Path(__file__).resolve().parents[2]
COMPOUND = "PK-JP-XC-01"
# 9 owners, one of them with two units, and the developer's unsold units (one owner).
ROLL = DEMO_ROLL + '3-201,DEVELOPER,,130.00,3\n'  # the demo roll plus a second unsold unit
OWNERS = ["O1", "O2", "O3", "O4", "O5", "O6", "O7", "O8", "DEVELOPER"]
CANDIDATES = [  # (id, owner, name, party member)
    ("C1", "O1", "张伟", True), ("C2", "O2", "王芳", True), ("C3", "O3", "李娜", True),
    ("C4", "O4", "刘洋", True), ("C5", "O5", "陈静", False), ("C6", "O6", "杨帆", False),
    ("C7", "O7", "赵磊", True), ("C8", "O8", "黄敏", False),
]


def candidate(cid, owner, name, party, facts=None):
    return {"candidate_id": cid, "owner_id": owner, "name": name, "party_member": party, "gender": "男",
            "units": owner, "intro": "业主", "facts": facts or {}}


def ballots_csv(voters, items, vote="同意") -> str:
    return "owner_id,item,vote\n" + "".join(f"{o},{i},{vote}\n" for o in voters for i in items)


class Election:
    def __init__(self, rt, actors):
        self.rt, self.actors = rt, actors
        self.case_number = None

    def upload(self, name: str, text: str) -> dict:
        with self.rt.uow() as s:
            att = store_attachment(s, filename=name, content=text.encode("utf-8"), actor="street", now=self.rt.now())
            return reference(att)

    def tasks(self, user: str):
        return [t for t in self.rt.list_tasks(self.actors[user], process_key="committee_election")
                if t.case_number == self.case_number]

    def task(self, user: str, name: str):
        found = [t for t in self.tasks(user) if t.name == name]
        assert found, f"{user} has no task {name}; open: {[t.name for t in self.tasks(user)]}; case: {self.case().tasks}"
        return found[0]

    def do(self, user: str, name: str, data: dict):
        view = self.rt.complete_task(self.task(user, name).id, self.actors[user], data)
        self.run_jobs()
        return view

    def run_jobs(self) -> int:
        """What the worker would do next: run the async steps (ballot printing) now due."""
        from engine.runtime.jobs import run_due_jobs

        return run_due_jobs(self.rt, "test-worker")

    def case(self):
        return self.rt.get_case(self.case_number, self.actors["street"])

    def open_names(self):
        return sorted(t["name"] for t in self.case().tasks)

    def advance(self, clock, days: int) -> int:
        clock.advance(days=days)
        fired = self.rt.run_due_timers()
        self.run_jobs()
        return fired

    # --- the standard path up to the candidate publicity -------------------------------------

    def start(self, kind="first", seats=7, meeting_date="2026-12-20", roll=ROLL):
        view = self.rt.start_case("committee_election", COMPOUND, self.actors["street"], {})
        self.case_number = view.case_number
        self.do("street", "open_case", {"case": {"election_kind": kind, "seats": seats, "term_years": 5}})
        self.do("street", "form_group", {"group": {"members": [
            {"name": "王街道", "kind": "street", "position": "组长"},
            {"name": "张伟", "kind": "owner", "position": "副组长"},
            {"name": "李娜", "kind": "owner", "position": "成员"},
            {"name": "某开发公司代表", "kind": "developer", "position": "成员"},
            {"name": "黄敏", "kind": "owner", "position": "成员"}]}})
        self.do("street", "confirm_roll", {"roll": {"file": self.upload("roll.csv", roll),
                                                   "inspection_place": "小区物业服务中心"}})
        self.do("street", "meeting_plan", {"meeting": {
            "meeting_name": "首次业主大会会议", "meeting_date": meeting_date, "meeting_time": "上午9:00至11:30",
            "place": "小区会所", "form": "书面征求意见"}})

    def nominate(self, cands):
        self.do("street", "nominate", {"candidates": cands})

    def review_all(self, approve=True, reject=()):
        sheet = self.rt.get_task(self.task("cparty", "community_review").id, self.actors["cparty"])["data"]["review_sheet"]
        ids = [c["candidate_id"] for c in sheet]
        dec = [{"candidate_id": i, "approve": approve and i not in reject, "reason": "" if approve and i not in reject else "经审查不宜提名"} for i in ids]
        self.do("cparty", "community_review", {"community_decisions": dec})
        self.do("sparty", "street_review", {"street_decisions": [{"candidate_id": i, "approve": True} for i in ids]})
        return ids


@pytest.fixture
def election(runtime, actors):
    from engine.runtime.service import deploy

    deploy(runtime, [ROOT / "bpmn" / "committee_election.bpmn"], ROOT / "forms")
    return Election(runtime, actors)
