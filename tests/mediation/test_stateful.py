"""Random sequences of tiered-mediation actions by random users — window staff, mediators of each
level, other communities' staff, the system account — disputes taken in at the window or from the
hotline, levels accepted, extended (lawfully or not), settled, failed and running out on the
injected clock, stale versions, a street changing its deadlines — all through the service layer.
After every step every declared invariant holds on every case and every chain verifies."""
from __future__ import annotations

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule

from engine.domain import mediation as rules
from engine.domain.periods import civil_date
from engine.runtime.actors import Actor
from tests.conftest import PG_URL, START
from tests.mediation.support import AGREEMENT, PARTIES, deploy_mediation, intake_form, session
from tests.stateful import (
    PG_RUN,
    SQLITE_RUN,
    Ledger,
    ProcessMachine,
    attempt,
    prepared_postgresql,
    prepared_sqlite,
    run,
    stale_attempt,
)

COMPOUNDS = {"PK-JP-XC-01": "PK/PK-JP/PK-JP-XC/PK-JP-XC-01/", "PK-JP-WJ-01": "PK/PK-JP/PK-JP-WJ/PK-JP-WJ-01/"}
SEEN = Ledger()  # over all examples of a run


def _payload(rt, name: str, choice: int) -> dict:
    today = civil_date(rt.now())
    if name == "register":
        return intake_form()
    if name == "review":
        return [{"accepted": True, "start_level": "community", "mediation_place": "社区调解室"},
                {"accepted": True, "start_level": "community", "mediation_place": "社区调解室"},
                {"accepted": True, "start_level": "street", "start_level_reason": "涉及全体业主，情况复杂"},
                {"accepted": True, "start_level": "district", "start_level_reason": "重大疑难纠纷"},
                {"accepted": True, "start_level": "street"},  # no reason given: refused
                {"accepted": False, "not_accepted_reason": "不属于物业纠纷"}][choice % 6]
    if name.endswith("_assign"):  # a mediator picked from the level's staff; sometimes one of another community
        level = name.removesuffix("_assign")
        names = {"community": ("李社区", "赵社区"), "street": ("王街道",), "district": ("孙调解员",)}[level]
        return {"mediator_name": names[choice % len(names)], "mediator_phone": "13900000000"}
    if name.endswith("_mediate"):
        kind = choice % 6
        if kind == 0:
            return session("continue", on=today)
        if kind in (1, 2):  # an extension: any length, with or without the parties' agreement
            return session("extend", on=today, extension_days=(5, 10, 20, 30, 31)[choice % 5],
                           extension_reason="双方同意继续协商", parties_agreed=choice % 7 != 0)
        if kind == 3:
            return session("settled", on=today, **AGREEMENT)
        if kind == 4:
            return session("failed", on=today, failure_reason="双方分歧较大")
        return session("continue", on=date_after(today))  # a session dated tomorrow: refused
    if name.endswith("_sign"):
        signed = [{"name": p["name"], "signed": choice % 5 != 0 or i == 0, "method": "signature"}
                  for i, p in enumerate(PARTIES)]
        return {"signed_on": today.isoformat(), "mediator_signed": True, "committee_sealed": True,
                "party_signatures": signed}
    if name == "follow_up":
        return {"visited_on": today.isoformat(), "performance": ("fully", "partially", "not_performed")[choice % 3]}
    raise AssertionError(f"no payload for task {name}")


def date_after(day):
    from datetime import timedelta

    return day + timedelta(days=1)


def machine(make_url):
    class MediationMachine(ProcessMachine):
        process_key, start, seen = "tiered_mediation", START, SEEN

        def __init__(self):
            super().__init__(make_url)
            self.users.append(Actor.system("cli"))
            self.refs = 0
            self.deadline_changes = 0

        @precondition(lambda self: len(self.cases) < 3)
        @rule(right=st.integers(0, 9), pick=st.integers(0, 20), compound=st.sampled_from(sorted(COMPOUNDS)),
              hotline=st.booleans())
        def take_in(self, right, pick, compound, hotline):
            """A dispute arrives at the window, or from the 12345 hotline (API route)."""
            from engine.services.mediation_intake import intake_case

            actor = self._someone(right, pick, "community_staff", COMPOUNDS[compound])
            if hotline:
                self.refs += 1
                payload = {"reference": f"12345-{self.refs}", "compound": compound, "source": "hotline_12345",
                           "category": "fees", "facts": intake_form()["facts"], "parties": PARTIES}
                got = attempt(self.rt, self.ledger, f"intake by {actor.username} in {compound}",
                              lambda: intake_case(self.rt, payload, actor)[0])
            else:
                got = attempt(self.rt, self.ledger, f"start by {actor.username} in {compound}",
                              lambda: self.rt.start_case("tiered_mediation", compound, actor, {}))
            if got is not None and got.case_number not in self.cases:
                self.cases.append(got.case_number)

        @precondition(lambda self: self.cases)
        @rule(moves=st.lists(st.tuples(st.integers(0, 50), st.integers(0, 9), st.integers(0, 20),
                                       st.integers(0, 200), st.integers(0, 9)), min_size=1, max_size=8))
        def act(self, moves):
            self.complete_open_tasks(moves, _payload, outcome_in_label=True)

        @rule(days=st.integers(1, 20))
        def time_passes(self, days):
            """Level deadlines run out (the case moves up a level) and follow-ups fall due."""
            self.clock.advance(days=days)
            self.rt.run_due_timers()

        @precondition(lambda self: self.deadline_changes < 2)
        @rule(level=st.sampled_from(rules.LEVELS), days=st.integers(5, 45), extension=st.integers(0, 40))
        def street_sets_its_deadlines(self, level, days, extension):
            """Limits beyond one month a level, or 30 extension days, are refused with the reason."""
            from engine.orgs import org_by_code
            from engine.settings_store import put_setting

            self.deadline_changes += 1
            value = {level: days, "max_extension_days": extension}
            problems = rules.validate_setting(value)
            assert bool(problems) == (days > rules.MAX_LEVEL_DAYS or extension > rules.STATUTORY_MAX_EXTENSION_DAYS)
            if not problems:
                with self.rt.uow() as s:
                    put_setting(s, rules.SETTING_KEY, org_by_code(s, "PK-JP"), value, "street", self.rt.now())
            self.ledger.note(not problems, f"deadlines {value}")

        @precondition(lambda self: self.cases)
        @rule(which=st.integers(0, 50), choice=st.integers(0, 200))
        def stale_version(self, which, choice):
            """Someone submits a form opened before the case last changed: always a conflict."""
            stale_attempt(self.rt, self.ledger, self.users, self.cases[which % len(self.cases)], choice, _payload)

    return MediationMachine


def test_random_users_cannot_break_the_mediation_rules(_templates, tmp_path):
    run(machine(prepared_sqlite(_templates, tmp_path, START, deploy_mediation)), SQLITE_RUN)
    # The run went deep enough to mean something: agreements or failures were reached, unlawful
    # extensions and wrong users refused.
    steps = {x.split(" of ")[0] for x in SEEN.done}
    assert "intake" in {s.split(" by ")[0] for s in steps} and any(s.endswith("/extend") for s in steps)
    assert any(s.endswith(("_sign", "/failed")) for s in steps)
    assert any("Forbidden" in x for x in SEEN.refused) and any("Conflict" in x for x in SEEN.refused)


@pytest.mark.postgres
def test_random_users_cannot_break_the_mediation_rules_on_postgresql(_templates):
    if not PG_URL:
        pytest.skip("HONGWU_TEST_PG_URL not set")
    run(machine(prepared_postgresql(_templates, START, deploy_mediation)), PG_RUN)
