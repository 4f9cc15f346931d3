"""Random sequences of committee-election actions by random users, through the service layer,
with every invariant of the process — and an independent model of who the negative list barred —
checked after every step.

Each example starts from the same case, already at the first nomination (a copy of one prepared
SQLite file, so an example costs milliseconds to set up). Users act in their right role and in
wrong ones, from another jurisdiction, with stale versions; owners are nominated again under any
id, with and without new facts; objections remove candidates; the injected clock fires timers.
PDF rendering is replaced by a cheap stand-in here: notices are not what is under test.
"""
from __future__ import annotations

import hashlib
import shutil
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from engine import audit
from engine.db.session import engine_for
from engine.domain import committee as rules
from engine.domain.periods import civil_date
from engine.orgs import ensure_org, ensure_user
from engine.runtime import invariants as inv
from engine.runtime.actors import load_actor
from engine.runtime.clock import FrozenClock
from engine.runtime.errors import Conflict, Forbidden, HongwuError, NotFound, RuleRefused
from engine.runtime.jobs import run_due_jobs
from tests.conftest import START, make_runtime

from .conftest import CANDIDATES, Election, candidate

OWNERS = {owner: name for _cid, owner, name, _party in CANDIDATES}  # O1…O8 with their roll names
IDS = ["C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8", "C9", "X1"]
BARRING = ["criminal", "illegal_construction"]  # switched on for the street
SWITCHED_OFF = "fee_arrears"
SEATS = 5
USERS = ["street", "cparty", "sparty", "community", "street_far", "cparty_far"]
# Mostly the right person with the current version, so that cases get somewhere; often not.
WHO = st.sampled_from(["right"] * 12 + USERS)
STALE = st.sampled_from([False] * 6 + [True])
RIGHT = {"nominate": "street", "community_review": "cparty", "street_review": "sparty", "objections": "street",
         "enter_ballots": "street", "decide_failure": "street", "postpone_meeting": "street"}


SEEN: Counter[str] = Counter()  # what the runs got to do, printed with -s


def _fake_pdf(html: str, *args, **kwargs) -> tuple[bytes, int]:
    return b"%PDF-1.7 stand-in " + hashlib.sha256(html.encode("utf-8")).hexdigest().encode(), 2


STAGES = ("nominate", "publicity", "ballots")  # where an example's case starts


def prepare(rt, clock, at_stage=None) -> Election:
    """Demo organisation, a second street with its own staff, the process deployed, and one case
    walked to its first nomination (then, step by step, by `advance_to`)."""
    from engine import demo
    from engine.runtime.service import deploy

    with rt.uow() as s:
        demo.seed(s, clock.now(), password=None)
        ensure_org(s, "street", "PK-QQ", "桥林街道", "PK")
        ensure_org(s, "community", "PK-QQ-01", "桥林社区", "PK-QQ")
        ensure_user(s, "street_far", "钱街道", "street_staff", "PK-QQ", None, clock.now())
        ensure_user(s, "cparty_far", "孙社区党委", "community_party_org", "PK-QQ-01", None, clock.now())
    deploy(rt, [Path(__file__).resolve().parents[2] / "bpmn" / "committee_election.bpmn"],
           Path(__file__).resolve().parents[2] / "forms")
    with rt.uow() as s:
        actors = {u: load_actor(s, u) for u in USERS + ["auditor"]}
    e = Election(rt, actors)
    e.start(seats=SEATS)
    for stage in STAGES[1:STAGES.index(at_stage or "nominate") + 1]:
        advance_to(e, clock, stage)
    return e


def advance_to(e: Election, clock, stage: str) -> None:
    """From the previous stage: seven nominated, O7 screened out, six approved and publicised;
    then the publicity and the voting period run out."""
    if stage == "publicity":
        cands = [candidate(*c) for c in CANDIDATES[:7]]
        cands[6]["facts"] = {"criminal": True}
        e.nominate(cands)
        e.review_all()
        assert e.open_names() == ["objections"]
    elif stage == "ballots":
        e.advance(clock, 10)
        e.advance(clock, 30)
        assert e.open_names() == ["enter_ballots"]


class CommitteeElection(RuleBasedStateMachine):
    """Set `make_world` on the class: (stage) -> (runtime, clock, case_number, cleanup)."""

    make_world = None

    @initialize(stage=st.sampled_from(STAGES))
    def open_world(self, stage):
        self.rt, self.clock, self.case_number, self._cleanup = type(self).make_world(stage)
        with self.rt.uow() as s:
            self.actors = {u: load_actor(s, u) for u in USERS}
        # The model: candidate id -> owner as it saw them accepted; owner -> times excluded.
        walked = STAGES.index(stage) >= 1  # advance_to's nominations: C1…C7, O7 excluded
        self.owner_of = {cid: owner for cid, owner, _n, _p in CANDIDATES[:7]} if walked else {}
        self.exclusions = {"O7": 1} if walked else {}
        self.refused = 0

    def teardown(self):
        if getattr(self, "rt", None) is not None:
            with self.rt.uow() as s:
                assert all(r.ok for r in audit.verify(s)), "an audit chain no longer verifies"
            self._cleanup()

    # --- helpers ---------------------------------------------------------------------------

    def view(self):
        return self.rt.get_case(self.case_number, self.actors["street"])

    def open_task(self, name):
        return next((t for t in self.view().tasks if t["name"] == name), None)

    def attempt(self, name, user, data, stale=False):
        """Complete task `name` as `user`; check that the right refusal comes for the wrong user or a
        stale version, and that a refusal changes nothing. Returns the error, or None on success."""
        task = self.open_task(name)
        user = RIGHT[name] if user == "right" else user
        before = self.view()
        expected = before.version - 1 if stale else before.version
        try:
            self.rt.complete_task(task["id"], self.actors[user], data, expected_version=expected)
        except HongwuError as exc:
            after = self.view()
            assert after.version == before.version and after.data == before.data, "a refused action changed the case"
            if user.endswith("_far"):
                assert isinstance(exc, NotFound), exc
            elif user != RIGHT[name]:
                assert isinstance(exc, Forbidden), exc
            elif stale:
                assert isinstance(exc, Conflict), exc
            self.refused += 1
            SEEN[f"{name}: {exc.code}"] += 1
            return exc
        assert user == RIGHT[name] and not stale, f"{user} (stale={stale}) completed {name}"
        run_due_jobs(self.rt, "w")  # the worker prints the ballots a completion may have reached
        SEEN[f"{name}: done"] += 1
        return None

    def later_meeting(self) -> str:
        """A meeting date a new publicity (and the 15 days' notice) can still end before."""
        return (civil_date(self.clock.now()) + timedelta(days=30)).isoformat()

    def is_open(self, name):
        return self.open_task(name) is not None

    # --- rules -----------------------------------------------------------------------------

    @precondition(lambda self: self.is_open("nominate"))
    @rule(user=WHO, stale=STALE, data=st.data())
    def nominate(self, user, stale, data):
        """Some owners — mostly ones not yet on the list — each mostly under their usual id (C1 for
        O1 …), sometimes under another; now and then with a barring ground or new facts."""
        on_list = {c["owner_id"] for c in self.view().data["approved_candidates"]}
        pool = [o for o in sorted(OWNERS) if o not in on_list] if data.draw(st.integers(0, 3)) else sorted(OWNERS)
        owners = data.draw(st.permutations(pool))[:data.draw(st.sampled_from([7, 7, 6, 5, 3, 1]))]
        cands = []
        for owner in owners:
            id_pick = data.draw(st.integers(0, 11))
            cid = f"C{owner[1:]}" if id_pick < 8 else IDS[id_pick - 2]
            ground = data.draw(st.sampled_from([None] * 12 + BARRING + [SWITCHED_OFF]))
            c = candidate(cid, owner, OWNERS[owner], data.draw(st.booleans()), {ground: True} if ground else {})
            if data.draw(st.integers(0, 3)) == 0:
                c["reconsideration"] = "有新的事实：相关处理已撤销"
            cands.append(c)
        seen_before = self.view().data
        barred_without_facts = [c for c in cands if self.exclusions.get(c["owner_id"]) and not c.get("reconsideration")]
        other_owner_id = [c for c in cands if self.owner_of.get(c["candidate_id"], c["owner_id"]) != c["owner_id"]]
        switched_off = [c for c in cands if c["facts"].get(SWITCHED_OFF)]
        form = {"candidates": cands, **({"new_meeting_date": self.later_meeting()} if data.draw(st.booleans()) else {})}
        err = self.attempt("nominate", user, form, stale)
        user = RIGHT["nominate"] if user == "right" else user
        if err is None:
            assert not barred_without_facts, "an owner the negative list excluded was nominated again without new facts"
            assert not other_owner_id and not switched_off
            for c in cands:
                self.owner_of[c["candidate_id"]] = c["owner_id"]
                if any(c["facts"].get(g) for g in BARRING):
                    self.exclusions[c["owner_id"]] = self.exclusions.get(c["owner_id"], 0) + 1
        elif user == "street" and not stale and (barred_without_facts or other_owner_id or switched_off):
            assert isinstance(err, RuleRefused), err
            assert seen_before == self.view().data

    @precondition(lambda self: self.is_open("community_review") or self.is_open("street_review"))
    @rule(user=WHO, stale=STALE, verdicts=st.lists(st.sampled_from([True, True, True, False]), min_size=10, max_size=10),
          reasons=st.booleans())
    def review(self, user, stale, verdicts, reasons):
        name = "community_review" if self.is_open("community_review") else "street_review"
        key = "community_decisions" if name == "community_review" else "street_decisions"
        sheet = self.view().data["review_sheet"]
        decisions = [{"candidate_id": c["candidate_id"], "approve": verdicts[i % 10],
                      **({"reason": "经审查"} if reasons or not verdicts[i % 10] else {})} for i, c in enumerate(sheet)]
        self.attempt(name, user, {key: decisions}, stale)

    @precondition(lambda self: self.is_open("objections"))
    @rule(user=WHO, stale=STALE, pick=st.integers(0, 20), upheld=st.booleans(),
          ground=st.sampled_from([None, *BARRING, SWITCHED_OFF]), postpone=st.booleans())
    def object(self, user, stale, pick, upheld, ground, postpone):
        approved = self.view().data["approved_candidates"]
        cid = approved[pick % len(approved)]["candidate_id"] if approved and pick < 18 else "C0"
        o = {"candidate_id": cid, "content": "异议", "upheld": upheld, "answer": "答复",
             **({"grounds": [ground]} if ground else {})}
        form = {"objections": [o], **({"new_meeting_date": self.later_meeting()} if postpone else {})}
        err = self.attempt("objections", user, {"objection": form}, stale)
        if err is None and upheld and ground in BARRING:
            owner = self.owner_of[cid]
            self.exclusions[owner] = self.exclusions.get(owner, 0) + 1

    @precondition(lambda self: self.is_open("enter_ballots"))
    @rule(user=WHO, stale=STALE, voters=st.sets(st.sampled_from(sorted(OWNERS))),
          extra=st.sampled_from([None, *IDS, *OWNERS.values()]), set_aside=st.booleans())
    def enter_ballots(self, user, stale, voters, extra, set_aside):
        data = self.view().data
        items = data["voting"]["items"]
        lines = "".join(f"{o},{i},同意\n" for o in sorted(voters) for i in items)
        if extra and voters:
            lines += f"{sorted(voters)[0]},{extra},同意\n"
        e = Election(self.rt, self.actors)
        ref = e.upload("ballots.csv", "owner_id,item,vote\n" + lines)
        err = self.attempt("enter_ballots", user, {"ballot_entry": {"file": ref, "set_aside_invalid": set_aside}}, stale)
        if err is None:
            count = self.view().data["count"]
            assert {i["item"] for i in count["tally"]["items"]} == set(items)

    @precondition(lambda self: self.is_open("decide_failure"))
    @rule(user=WHO, decision=st.sampled_from(["reballot", "accept", "close"]))
    def decide(self, user, decision):
        self.attempt("decide_failure", user, {"failure": {"decision": decision, "reason": "筹备组决定"}})

    @precondition(lambda self: self.is_open("postpone_meeting"))
    @rule(user=WHO, stale=STALE, soon=st.booleans())
    def postpone(self, user, stale, soon):
        day = (civil_date(self.clock.now()) + timedelta(days=3)).isoformat() if soon else self.later_meeting()
        self.attempt("postpone_meeting", user, {"postponement": {"new_meeting_date": day, "reason": "公示期"}}, stale)

    @precondition(lambda self: any(self.is_open(n) for n in RIGHT))
    @rule(user=WHO, stale=STALE, key=st.sampled_from(["excluded_candidates", "approved_candidates", "candidate_owners",
                                                      "voting", "case_summary"]))
    def tamper(self, user, stale, key):
        """Write the process's own data through a form: always refused."""
        name = next(n for n in RIGHT if self.is_open(n))
        err = self.attempt(name, user, {key: [] if key.endswith("candidates") else {}}, stale)
        assert err is not None, f"{key} was written through the {name} form"
        if (user == "right" or user == RIGHT[name]) and not stale:
            assert isinstance(err, RuleRefused), err

    @rule(days=st.integers(1, 12))
    def time_passes(self, days):
        self.clock.advance(days=days)
        if self.rt.run_due_timers():
            SEEN["timer fired"] += 1
        run_due_jobs(self.rt, "w")

    # --- after every step --------------------------------------------------------------------

    @invariant()
    def rules_hold(self):
        if getattr(self, "rt", None) is None:
            return
        view = self.view()
        data = view.data
        with self.rt.uow() as s:
            events = inv.case_events(s, view.id)
        broken = inv.violations("committee_election", data, events)
        assert broken == [], [m for _i, m in broken]
        approved = data.get("approved_candidates") or []
        # The model's own view: an owner it saw excluded is on the list only after a joint review
        # that weighed every one of their exclusions, with both organisations' reasons.
        for c in approved:
            times = self.exclusions.get(c["owner_id"], 0)
            assert len(c.get("reconsidered") or []) == times, (c["candidate_id"], c.get("reconsidered"), times)
            if times:
                assert c["review"]["community"]["reason"] and c["review"]["street"]["reason"]
        for cid in (data.get("voting") or {}).get("items") or []:
            assert cid in {c["candidate_id"] for c in approved}
        if "approved_candidates" in data:
            share = rules.party_share(approved)
            assert view.summary["approved_candidates"] == len(approved)
            assert view.summary["party_member_share"] == share["share"]


def _settings(**kw):
    return settings(deadline=None, suppress_health_check=list(HealthCheck), **kw)


def test_committee_election_rules_hold_under_random_actions(sqlite_url, tmp_path, monkeypatch):
    from engine.notices import render

    monkeypatch.setattr(render, "html_to_pdf", _fake_pdf)
    clock = FrozenClock(START)
    rt = make_runtime(sqlite_url, clock)
    e = prepare(rt, clock)
    source = Path(sqlite_url.removeprefix("sqlite:///"))
    snapshots = {}
    for stage in STAGES:  # one file per stage, copied for each example
        if stage != STAGES[0]:
            advance_to(e, clock, stage)
        engine_for(sqlite_url).dispose()  # everything in the main file before copying it
        snapshots[stage] = (tmp_path / f"{stage}.db", clock.now())
        shutil.copy(source, snapshots[stage][0])

    def make_world(stage):
        path = tmp_path / f"example-{uuid.uuid4().hex[:8]}.db"
        shutil.copy(snapshots[stage][0], path)
        url = f"sqlite:///{path}"
        world_clock = FrozenClock(snapshots[stage][1])

        def cleanup():
            engine_for(url).dispose()
            path.unlink(missing_ok=True)

        return make_runtime(url, world_clock), world_clock, e.case_number, cleanup

    CommitteeElection.make_world = staticmethod(make_world)
    SEEN.clear()
    run_state_machine_as_test(CommitteeElection, settings=_settings(max_examples=8, stateful_step_count=20))
    print(dict(sorted(SEEN.items())))


@pytest.mark.postgres
def test_committee_election_rules_hold_on_postgresql(pg_url, monkeypatch):
    from engine.notices import render

    monkeypatch.setattr(render, "html_to_pdf", _fake_pdf)

    def make_world(stage):  # one example: on the database the fixture made
        clock = FrozenClock(START)
        rt = make_runtime(pg_url, clock)
        return rt, clock, prepare(rt, clock, stage).case_number, lambda: None

    CommitteeElection.make_world = staticmethod(make_world)
    run_state_machine_as_test(CommitteeElection, settings=_settings(max_examples=1, stateful_step_count=25,
                                                                    derandomize=True, database=None))
