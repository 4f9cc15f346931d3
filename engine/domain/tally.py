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

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Iterable, Literal

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


@dataclass(frozen=True)
class Ballot:
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

def parse_ballots(data: bytes, filename: str, roll: OwnerRoll) -> list[Ballot]:
    """Ballot lines `owner_id,item,vote` from CSV (or XLSX); every problem in one `BallotError`."""
    header, rows, problems = read_table(data, filename)
    if problems:
        raise BallotError(problems)
    idx, problems = column_index(header, filename, ("owner_id", "item", "vote"), (),
                                 {"业主编号": "owner_id", "表决事项": "item", "候选人": "item", "事项": "item",
                                  "表决意见": "vote", "意见": "vote"})
    if problems:
        raise BallotError(problems)
    ballots: list[Ballot] = []
    seen: dict[tuple[str, str], int] = {}
    for line, cells in rows:
        def get(col: str) -> str:
            i = idx[col]
            return cells[i].strip() if i < len(cells) else ""

        owner_id, item, word = get("owner_id"), get("item"), get("vote")
        ok = True
        if not owner_id:
            problems.append(Problem(filename, line, "owner_id is empty", "业主编号为空"))
            ok = False
        elif owner_id not in roll.owners:
            problems.append(Problem(filename, line, f"unknown owner {owner_id!r} (not on the owner roll)",
                                    f"业主编号 {owner_id} 不在业主名册中"))
            ok = False
        if not item:
            problems.append(Problem(filename, line, "item is empty", "表决事项（item）为空"))
            ok = False
        vote = VOTE_WORDS.get(word.lower())
        if vote is None:
            problems.append(Problem(filename, line,
                                    f"unknown vote {word!r} (use agree, disagree, abstain or 同意, 反对, 弃权)",
                                    f"无法识别的表决意见「{word}」（应为 同意、反对、弃权 或 agree、disagree、abstain）"))
            ok = False
        if owner_id and item:
            first = seen.setdefault((owner_id, item), line)
            if first != line:
                problems.append(Problem(filename, line, f"owner {owner_id!r} already voted on {item!r} on line {first}",
                                        f"业主 {owner_id} 已在第 {first} 行对「{item}」表决，不得重复"))
                ok = False
        if ok:
            ballots.append(Ballot(owner_id, item, vote, line))
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
    participants: set[str] = set()
    for b in ballots:
        where = roll.source or "ballots"
        if b.owner_id not in roll.owners:
            problems.append(Problem(where, b.line, f"unknown owner {b.owner_id!r}", f"业主编号 {b.owner_id} 不在业主名册中"))
            continue
        if b.vote not in VOTE_ZH:
            problems.append(Problem(where, b.line, f"unknown vote {b.vote!r}", f"无法识别的表决意见「{b.vote}」"))
            continue
        if known is not None and b.item not in known:
            problems.append(Problem(where, b.line, f"{b.item!r} is not on the ballot", f"「{b.item}」不是本次表决事项"))
            continue
        per_item = votes.setdefault(b.item, {})
        if b.owner_id in per_item:
            problems.append(Problem(where, b.line, f"owner {b.owner_id!r} voted twice on {b.item!r}",
                                    f"业主 {b.owner_id} 对「{b.item}」重复表决"))
            continue
        per_item[b.owner_id] = b.vote
        participants.add(b.owner_id)
    if problems:
        raise BallotError(problems)
    if known is None:
        order = sorted(votes)  # the result must not depend on ballot order

    owners = roll.owners
    part_area = sum((owners[o].area_m2 for o in participants), Decimal(0))
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
                agree_area += owners[owner_id].area_m2
                agree_n += 1
            elif vote == "disagree":
                disagree_area += owners[owner_id].area_m2
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
