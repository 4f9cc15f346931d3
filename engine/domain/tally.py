"""Counting owners' votes (Civil Code Art. 278, counting words of Art. 1259).

- Participation: owners holding 三分之二以上 (≥ 2/3, inclusive) of the total exclusive area AND
  ≥ 2/3 of the owner count took part. An owner with any ballot line took part; an item they did
  not mark counts as an abstention.
- Approval, "majority" (过半数): strictly more than 1/2 of the participating area AND of the
  participating owners. "three_quarters" (四分之三以上, Art. 278 items 6–8): ≥ 3/4 of both.
- Arithmetic is exact: areas are `Decimal`, comparisons are integer cross-multiplications of
  `Fraction`s, never floats.
- With `seats`, the elected are the approved candidates ranked by agreeing owners, then agreeing
  area, first N; candidates tied across the last seat are all left out (those seats stay open)
  and listed in `ties`, so that a run-off or a lawful rule decides — not the file order.

Used by the committee election, by owners' assembly votes and by `hongwu tally`.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Literal, NamedTuple

from .owner_roll import InputError, OwnerRoll, Problem, column_index, read_table

Threshold = Literal["majority", "three_quarters"]
THRESHOLDS = ("majority", "three_quarters")

VOTE_WORDS = {
    "agree": "agree", "同意": "agree",
    "disagree": "disagree", "反对": "disagree",
    "abstain": "abstain", "弃权": "abstain",
}
VOTE_ZH = {"agree": "同意", "disagree": "反对", "abstain": "弃权"}


class BallotError(InputError):
    what_en = "ballot file"
    what_zh = "选票文件"


class Ballot(NamedTuple):
    """One ballot line (a tuple: tens of thousands are read per election)."""

    owner_id: str
    item: str
    vote: str  # agree | disagree | abstain
    line: int | None = None


@dataclass(frozen=True)
class ItemResult:
    item: str
    agree_area: Decimal
    agree_owners: int
    disagree_area: Decimal
    disagree_owners: int
    abstain_area: Decimal
    abstain_owners: int
    passed: bool

    def to_dict(self) -> dict:
        return {"item": self.item,
                "agree_area": _dec(self.agree_area), "agree_owners": self.agree_owners,
                "disagree_area": _dec(self.disagree_area), "disagree_owners": self.disagree_owners,
                "abstain_area": _dec(self.abstain_area), "abstain_owners": self.abstain_owners,
                "passed": self.passed}


@dataclass(frozen=True)
class TallyResult:
    total_area: Decimal
    total_owners: int
    participating_area: Decimal
    participating_owners: int
    quorum_met: bool
    items: list[ItemResult]
    elected: list[str]
    ties: list[str]
    threshold: str = "majority"
    seats: int | None = None

    @property
    def open_seats(self) -> int:
        return 0 if self.seats is None else self.seats - len(self.elected)

    def item(self, item: str) -> ItemResult:
        for r in self.items:
            if r.item == item:
                return r
        raise KeyError(item)

    def to_dict(self) -> dict:
        return {"total_area": _dec(self.total_area), "total_owners": self.total_owners,
                "participating_area": _dec(self.participating_area),
                "participating_owners": self.participating_owners, "quorum_met": self.quorum_met,
                "items": [r.to_dict() for r in self.items], "elected": list(self.elected),
                "ties": list(self.ties)}


def _dec(d: Decimal) -> str:
    """Exact decimal text without exponent or trailing zeros: 270.50 → "270.5", 1E+2 → "100"."""
    return format(d.normalize(), "f")


# --- reading ballots -----------------------------------------------------------------------

# Chinese headings of a ballot sheet (the downloadable templates use them); English ones still work.
BALLOT_COLUMN_ALIASES = {"业主编号": "owner_id", "表决事项": "item", "候选人": "item", "候选人（编号或姓名）": "item",
                         "事项": "item", "表决意见": "vote", "表决意见（同意/反对/弃权）": "vote", "意见": "vote"}


def parse_ballots(data: bytes, filename: str, roll: OwnerRoll) -> list[Ballot]:
    """Ballot lines `owner_id,item,vote` from CSV (or XLSX); every problem in one `BallotError`."""
    header, rows, problems = read_table(data, filename)
    if problems:
        raise BallotError(problems)
    idx, problems = column_index(header, filename, ("owner_id", "item", "vote"), (), BALLOT_COLUMN_ALIASES)
    if problems:
        raise BallotError(problems)
    ballots: list[Ballot] = []
    seen: dict[tuple[str, str], int] = {}
    io, ii, iv = idx["owner_id"], idx["item"], idx["vote"]
    width = max(io, ii, iv) + 1
    owners = roll.owners
    for line, cells in rows:
        if len(cells) < width:
            cells = cells + [""] * (width - len(cells))
        owner_id, item, word = cells[io].strip(), cells[ii].strip(), cells[iv].strip()
        vote = VOTE_WORDS.get(word) or VOTE_WORDS.get(word.lower())
        key = (owner_id, item)
        if owner_id in owners and item and vote is not None and key not in seen:
            seen[key] = line
            ballots.append(Ballot(owner_id, item, vote, line))
            continue
        # The slow path names every problem of the line.
        if not owner_id:
            problems.append(Problem(filename, line, "owner_id is empty", "业主编号为空"))
        elif owner_id not in owners:
            problems.append(Problem(filename, line, f"unknown owner {owner_id!r} (not on the owner roll)",
                                    f"业主编号 {owner_id} 不在业主名册中"))
        if not item:
            problems.append(Problem(filename, line, "item is empty", "表决事项（item）为空"))
        if vote is None:
            problems.append(Problem(filename, line,
                                    f"unknown vote {word!r} (use agree, disagree, abstain or 同意, 反对, 弃权)",
                                    f"无法识别的表决意见「{word}」（应为 同意、反对、弃权 或 agree、disagree、abstain）"))
        if owner_id and item:
            first = seen.setdefault(key, line)
            if first != line:
                problems.append(Problem(filename, line, f"owner {owner_id!r} already voted on {item!r} on line {first}",
                                        f"业主 {owner_id} 已在第 {first} 行对「{item}」表决，不得重复"))
    if problems:
        raise BallotError(problems)
    return ballots


# --- counting ------------------------------------------------------------------------------

def quorum_met(participating_area: Decimal, participating_owners: int, total_area: Decimal, total_owners: int) -> bool:
    """三分之二以上 of area AND owners took part (inclusive, Art. 1259)."""
    return (3 * Fraction(participating_area) >= 2 * Fraction(total_area)
            and 3 * participating_owners >= 2 * total_owners)


def approved(agree_area: Decimal, agree_owners: int, part_area: Decimal, part_owners: int,
             threshold: str = "majority") -> bool:
    """过半数 (strictly > 1/2) or 四分之三以上 (≥ 3/4) of the participating area AND owners."""
    if part_owners <= 0:
        return False
    a, p = Fraction(agree_area), Fraction(part_area)
    if threshold == "majority":
        return 2 * a > p and 2 * agree_owners > part_owners
    if threshold == "three_quarters":
        return 4 * a >= 3 * p and 4 * agree_owners >= 3 * part_owners
    raise ValueError(f"unknown threshold {threshold!r} (majority or three_quarters)")


def tally(roll: OwnerRoll, ballots: Iterable[Ballot], items: list[str] | None = None,
          threshold: Threshold = "majority", seats: int | None = None) -> TallyResult:
    """Count `ballots` against `roll`. Pure: same inputs, same result, whatever the ballot order."""
    if threshold not in THRESHOLDS:
        raise ValueError(f"unknown threshold {threshold!r} (majority or three_quarters)")
    if seats is not None and seats < 1:
        raise ValueError("seats must be at least 1")
    ballots = list(ballots)
    problems: list[Problem] = []
    known = set(items) if items is not None else None
    votes: dict[str, dict[str, str]] = {}  # item -> owner -> vote
    order: list[str] = list(items) if items is not None else []
    owners = roll.owners
    for b in ballots:
        owner_id, item, vote = b[0], b[1], b[2]
        if owner_id in owners and vote in VOTE_ZH and (known is None or item in known):
            per_item = votes.get(item)
            if per_item is None:
                per_item = votes[item] = {}
            if owner_id not in per_item:
                per_item[owner_id] = vote
                continue
        # The slow path says what is wrong with the line.
        where = roll.source or "ballots"
        if owner_id not in owners:
            problems.append(Problem(where, b.line, f"unknown owner {owner_id!r}", f"业主编号 {owner_id} 不在业主名册中"))
        elif vote not in VOTE_ZH:
            problems.append(Problem(where, b.line, f"unknown vote {vote!r}", f"无法识别的表决意见「{vote}」"))
        elif known is not None and item not in known:
            problems.append(Problem(where, b.line, f"{item!r} is not on the ballot", f"「{item}」不是本次表决事项"))
        else:
            problems.append(Problem(where, b.line, f"owner {owner_id!r} voted twice on {item!r}",
                                    f"业主 {owner_id} 对「{item}」重复表决"))
    participants: set[str] = set().union(*votes.values()) if votes else set()
    if problems:
        raise BallotError(problems)
    if known is None:
        order = sorted(votes)  # the result must not depend on ballot order

    area = {o: owners[o].area_m2 for o in participants}
    part_area = sum(area.values(), Decimal(0))
    part_owners = len(participants)
    total_area, total_owners = roll.total_area, roll.total_owners
    quorum = quorum_met(part_area, part_owners, total_area, total_owners)
    results: list[ItemResult] = []
    for item in order:
        per_item = votes.get(item, {})
        agree_area = disagree_area = Decimal(0)
        agree_n = disagree_n = 0
        for owner_id, vote in per_item.items():
            if vote == "agree":
                agree_area += area[owner_id]
                agree_n += 1
            elif vote == "disagree":
                disagree_area += area[owner_id]
                disagree_n += 1
        passed = quorum and approved(agree_area, agree_n, part_area, part_owners, threshold)
        results.append(ItemResult(item, agree_area, agree_n, disagree_area, disagree_n,
                                  part_area - agree_area - disagree_area, part_owners - agree_n - disagree_n, passed))
    elected, ties = _elect(results, seats) if seats is not None else ([], [])
    return TallyResult(total_area, total_owners, part_area, part_owners, quorum, results, elected, ties,
                       threshold, seats)


def _elect(results: list[ItemResult], seats: int) -> tuple[list[str], list[str]]:
    """First `seats` approved candidates by (agreeing owners, agreeing area); a tie across the
    last seat leaves those seats open and lists the tied candidates."""
    ranked = sorted((r for r in results if r.passed), key=lambda r: (-r.agree_owners, -r.agree_area, r.item))
    if len(ranked) <= seats:
        return [r.item for r in ranked], []
    key = lambda r: (r.agree_owners, r.agree_area)  # noqa: E731
    cut = key(ranked[seats - 1])
    if key(ranked[seats]) != cut:
        return [r.item for r in ranked[:seats]], []
    elected = [r.item for r in ranked if key(r) > cut]
    ties = [r.item for r in ranked if key(r) == cut]
    return elected, ties


# --- which ballot lines count: only candidates on the issued ballot -------------------------

NOT_ON_BALLOT_ZH = "不是本案候选人"


class SetAside(NamedTuple):
    """A vote not counted: for something not on the issued ballot, and why."""

    problem: Problem
    reason_zh: str


def match_ballot_items(ballots: Iterable[Ballot], on_ballot: dict[str, str], filename: str,
                       off_ballot: dict[str, str] | None = None) -> tuple[list[Ballot], list[SetAside], list[Problem]]:
    """Map each line's item — a candidate id or name on the issued ballot — to the ballot's id.

    Returns (counted, not_on_ballot, errors): lines for anything not on the ballot are kept apart
    with their file:line and why (`off_ballot` names known ids/names: excluded, disqualified, …);
    a name two candidates on the ballot share cannot be counted for either (an entry error).
    `on_ballot` is {id: name} of the ballot as issued for the round."""
    by_name: dict[str, list[str]] = {}
    for cid, name in on_ballot.items():
        by_name.setdefault(name, []).append(cid)
    off_ballot = off_ballot or {}
    counted: list[Ballot] = []
    aside: list[SetAside] = []
    errors: list[Problem] = []
    for b in ballots:
        if b.item in on_ballot:
            counted.append(b)
            continue
        ids = by_name.get(b.item, [])
        if len(ids) == 1:
            counted.append(Ballot(b.owner_id, ids[0], b.vote, b.line))
        elif ids:
            errors.append(Problem(filename, b.line, f"{b.item!r} names {len(ids)} candidates on the ballot; use the id",
                                  f"选票上有 {len(ids)} 名候选人名为「{b.item}」（{'、'.join(ids)}），请填写候选人编号"))
        else:
            why = off_ballot.get(b.item, NOT_ON_BALLOT_ZH)
            aside.append(SetAside(Problem(filename, b.line, f"{b.item!r} is not on the issued ballot ({why})",
                                          f"「{b.item}」不在本轮选票上（{why}），该票无效"), why))
    # An owner may have written a candidate once by id and once by name: the second is a repeat.
    seen: dict[tuple[str, str], int | None] = {}
    unique: list[Ballot] = []
    for b in counted:
        first = seen.setdefault((b.owner_id, b.item), b.line)
        if first != b.line:
            errors.append(Problem(filename, b.line, f"owner {b.owner_id!r} already voted on {b.item!r} on line {first}",
                                  f"业主 {b.owner_id} 已在第 {first} 行对候选人 {b.item} 表决，不得重复"))
        else:
            unique.append(b)
    return unique, aside, errors


def set_aside_summary(aside: list[SetAside]) -> dict:
    """How many votes were set aside and why (JSON-able), for the count."""
    reasons: dict[str, int] = {}
    for a in aside:
        reasons[a.reason_zh] = reasons.get(a.reason_zh, 0) + 1
    return {"count": len(aside), "reasons": reasons, "lines": [a.problem.as_detail()["message_zh"] for a in aside]}
