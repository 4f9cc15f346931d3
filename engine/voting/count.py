"""The count from the register: each live ballot's settled reading (paper, entered twice) becomes
the tally's lines; invalid ballots and set-aside duplicates are listed; a ballot still waiting for
its second entry or third check stops the count. Also the 计票表's context from the same figures."""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.db.models import User
from engine.db.vote_models import VoteBallot, VoteEntry, VoteOnline, VoteRound, VoteScrutineer
from engine.domain import voting as rules
from engine.domain.tally import VOTE_ZH, Ballot, TallyResult


@dataclass
class RegisterCount:
    ballots: list[Ballot]
    invalid: list[dict]
    set_aside: list[dict]  # {code, owner_id, channel, reason_zh}
    unsettled: list[str]
    counts: rules.RegisterCounts
    scrutineers: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        """JSON-able, in the shape of `set_aside_summary` plus the register's own lists."""
        reasons: dict[str, int] = {}
        for i in self.invalid:
            reasons[f"无效票：{i['reason_zh']}"] = reasons.get(f"无效票：{i['reason_zh']}", 0) + 1
        for d in self.set_aside:
            reasons[d["reason_zh"]] = reasons.get(d["reason_zh"], 0) + 1
        return {"count": len(self.invalid) + len(self.set_aside), "reasons": reasons,
                "lines": [f"{i['code']}（{i['owner_id']}）：无效票，{i['reason_zh']}" for i in self.invalid]
                + [f"{d['code']}（{d['owner_id']}）：{d['reason_zh']}" for d in self.set_aside],
                "invalid": self.invalid, "duplicates": self.set_aside, "register": self.counts.as_dict(),
                "scrutineers": self.scrutineers, "source": "register"}


def register_count(session: Session, case_id: int, rnd: int) -> RegisterCount:
    """Plain column rows, not ORM objects, and each distinct reading parsed once: a compound's
    10,000 ballots and 20,000 entries are counted in one pass."""
    vr = session.get(VoteRound, (case_id, rnd))
    items = json.loads(vr.items) if vr is not None else []
    rows = session.execute(select(VoteBallot.id, VoteBallot.code, VoteBallot.owner_id, VoteBallot.status,
                                  VoteBallot.voted_channel, VoteBallot.delivered_at.is_not(None))
                           .where(VoteBallot.case_id == case_id, VoteBallot.round == rnd)
                           .order_by(VoteBallot.serial, VoteBallot.id)).all()
    counts = rules.register_counts([r[3] for r in rows], [bool(r[5]) for r in rows])
    live = {r[0]: r for r in rows if r[3] != "void"}
    parsed: dict[str, rules.Reading] = {}
    entries: dict[int, list[rules.Entry]] = {}
    aside: dict[int, bool] = {}
    for ballot_id, who, raw, entry_id, superseded, set_aside in session.execute(
            select(VoteEntry.ballot_id, VoteEntry.scrutineer, VoteEntry.reading, VoteEntry.id, VoteEntry.superseded,
                   VoteEntry.set_aside).where(VoteEntry.case_id == case_id).order_by(VoteEntry.id)):
        if ballot_id not in live:
            continue
        if set_aside:
            aside[ballot_id] = True
            continue
        reading = parsed.get(raw)
        if reading is None:
            r = json.loads(raw)
            reading = parsed[raw] = rules.Reading.of(r.get("marks"), r.get("invalid"))
        entries.setdefault(ballot_id, []).append(rules.Entry(who, reading, entry_id, bool(superseded)))
    online: dict[int, rules.Reading] = {}
    online_aside: list[dict] = []
    for ballot_id, raw, set_aside, reason in session.execute(
            select(VoteOnline.ballot_id, VoteOnline.reading, VoteOnline.set_aside, VoteOnline.set_aside_reason)
            .where(VoteOnline.case_id == case_id).order_by(VoteOnline.id)):
        if ballot_id not in live:
            continue
        if set_aside:
            online_aside.append({"code": live[ballot_id][1], "owner_id": live[ballot_id][2], "channel": "online",
                                 "reason_zh": reason or "重复投票，网上投票另列不计"})
            continue
        r = json.loads(raw)
        online[ballot_id] = rules.Reading.of(r.get("marks"), r.get("invalid"))
    counted = [(r[1], r[2], rules.reconcile(entries.get(bid, [])).reading if r[4] == "paper" else online.get(bid))
               for bid, r in live.items() if r[4] in ("paper", "online")]
    inputs = rules.count_inputs(counted, items)
    duplicates = [{"code": live[bid][1], "owner_id": live[bid][2], "channel": "paper",
                   "reason_zh": f"重复投票：{rules.CHANNEL_ZH.get(live[bid][4] or '', '')}已先行记录，纸质票另列不计"}
                  for bid in aside] + online_aside
    names = [n or u for u, n in session.execute(
        select(VoteScrutineer.username, User.display_name).outerjoin(User, User.username == VoteScrutineer.username)
        .where(VoteScrutineer.case_id == case_id).order_by(VoteScrutineer.designated_at))]
    return RegisterCount(inputs.ballots, inputs.invalid, duplicates, inputs.unsettled, counts, names)


def _amount(d) -> str:
    return format(d.normalize(), "f")


def count_sheet_context(*, compound_name: str, vote_title: str, rnd: int, result: TallyResult,
                        labels: dict[str, str], summary: dict, outcome_words: tuple[str, str] = ("当选", "未当选"),
                        threshold_zh: str = "过半数") -> dict:
    """The 计票表 of one round: the same `TallyResult` the case records (and the results notice
    prints), by heads and by area, with invalid ballots, set-aside duplicates and scrutineers."""
    elected = set(result.elected)
    rows = []
    for r in result.items:
        passed = r.item in elected if result.seats is not None else r.passed
        rows.append({"item": r.item, "label": labels.get(r.item, r.item),
                     "agree_owners": r.agree_owners, "agree_area": _amount(r.agree_area),
                     "disagree_owners": r.disagree_owners, "disagree_area": _amount(r.disagree_area),
                     "abstain_owners": r.abstain_owners, "abstain_area": _amount(r.abstain_area),
                     "outcome": outcome_words[0] if passed else outcome_words[1]})
    return {"compound_name": compound_name, "vote_title": vote_title, "round": rnd,
            "total_owners": result.total_owners, "total_area": _amount(result.total_area),
            "participating_owners": result.participating_owners, "participating_area": _amount(result.participating_area),
            "quorum_met": result.quorum_met, "threshold_zh": threshold_zh, "rows": rows,
            # An election counts candidates; an assembly vote on matters counts 表决事项.
            "item_heading": "候选人" if result.seats is not None else "表决事项",
            "register": summary.get("register") or {},
            "invalid": [{"code": i["code"], "reason": i["reason_zh"]} for i in summary.get("invalid") or []],
            "duplicates": [{"code": d["code"], "reason": d["reason_zh"]} for d in summary.get("duplicates") or []],
            "scrutineers": list(summary.get("scrutineers") or []), "vote_words": dict(VOTE_ZH)}
