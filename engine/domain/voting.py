"""The vote itself, as pure rules: the ballot register, double entry by scrutineers, one vote per
ballot across channels, participation against the quorum, and the count's inputs.

- **Register.** Every issued ballot has a status: issued → delivered (送达: 入户、邮寄、现场、电子)
  → returned (回收); a ballot handed in at the box without a recorded delivery goes straight from
  issued to returned. Any ballot not yet voted may be voided (作废) with a reason; a void ballot
  never changes again and its code counts for nothing from then on. At most one ballot per owner
  and round is not void: a reissue voids the old one first.
- **Double entry (双人录入).** A paper ballot is entered by two different scrutineers; when their
  entries agree it is settled. When they differ, a third scrutineer checks it: the reading that
  two different scrutineers entered first is the settled one. The same scrutineer may not enter
  a ballot twice; a scrutineer corrects their own entry only with a reason (the correction
  replaces it). An entry is either marks ({item: agree|disagree|abstain}; an unmarked item is an
  abstention) or invalid with a reason (多选、无法辨认、未签名).
- **One vote per ballot.** Whichever channel records a ballot's vote first (the first paper entry,
  or the online vote) wins; the other is set aside, listed and never counted.
- **Count.** Settled valid ballots become the tally's `Ballot` lines, one per item on the ballot;
  invalid ballots are listed with their reasons and do not count as taking part.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from .tally import VOTE_ZH, Ballot

# --- the register ----------------------------------------------------------------------------

STATUSES = ("issued", "delivered", "returned", "void")
STATUS_ZH = {"issued": "已发放", "delivered": "已送达", "returned": "已回收", "void": "已作废"}
DELIVERY_CHANNELS = {"door": "入户", "post": "邮寄", "onsite": "现场", "online": "电子"}
INVALID_REASONS = {"multiple": "多选", "illegible": "无法辨认", "unsigned": "未签名"}
CHANNEL_ZH = {"paper": "纸质选票", "online": "网上投票"}

# --- the second factor of online voting ------------------------------------------------------
# Per compound: the PIN printed on the ballot, or the last six characters of the owner's ID
# number on the roll. It is read when a round's ballots are issued and fixed on the round: the
# ballots printed say which to type, so a later change applies to the next round only.
SECOND_FACTOR_KEY = "vote_second_factor"
SECOND_FACTORS = {"pin": "选票上印制的网上投票密码", "id_last6": "业主名册登记的身份证号后六位"}
SECOND_FACTOR_LABELS = {"factor": "业主网上投票时，除选票编号外还须输入"}


def default_second_factor() -> dict[str, str]:
    return {"factor": "pin"}


def validate_second_factor(value: object) -> list[str]:
    """Problems with a `vote_second_factor` value, each 「中文 / English」; [] = valid."""
    if not isinstance(value, Mapping) or set(value) != {"factor"}:
        return ['须为 {"factor": "pin"} 或 {"factor": "id_last6"} / must be {"factor": "pin" | "id_last6"}']
    if value["factor"] not in SECOND_FACTORS:
        return [f"验证方式须为 pin 或 id_last6，当前为「{value['factor']}」 / factor must be pin or id_last6"]
    return []


class VoteRefused(Exception):
    """A step the rules of the vote do not allow; `message_zh` says why in the staff's words."""

    def __init__(self, message: str, message_zh: str, field: str | None = None):
        super().__init__(message)
        self.message, self.message_zh, self.field = message, message_zh, field

    def __str__(self) -> str:
        return f"{self.message_zh} ({self.message})"


def next_status(status: str, action: str, *, voted: bool = False, channel: str | None = None) -> str:
    """The status after `action` (deliver | return | void), or `VoteRefused` saying why not."""
    if status not in STATUSES:
        raise ValueError(f"unknown ballot status {status!r}")
    if status == "void":
        raise VoteRefused("the ballot is void", "该选票已作废，不能再登记送达、回收或作废")
    if action == "deliver":
        if channel not in DELIVERY_CHANNELS:
            raise VoteRefused(f"unknown delivery channel {channel!r}",
                              f"送达方式须为{'、'.join(DELIVERY_CHANNELS.values())}之一", "channel")
        if status != "issued":
            raise VoteRefused(f"the ballot is already {status}", f"该选票{STATUS_ZH[status]}，不能重复登记送达")
        return "delivered"
    if action == "return":
        if status == "returned":
            raise VoteRefused("the ballot is already returned", "该选票已回收，不能重复登记回收")
        return "returned"
    if action == "void":
        if voted:
            raise VoteRefused("a ballot with a recorded vote cannot be voided",
                              "该选票已有表决记录（已录入或已网上投票），不能作废")
        return "void"
    raise ValueError(f"unknown register action {action!r}")


def live_ballot_problem(rows: Iterable[tuple[str, int, str]]) -> str | None:
    """(owner id, round, status) of a case's register: None when each owner holds at most one
    ballot that is not void per round, else the Chinese reason."""
    seen: set[tuple[str, int]] = set()
    for owner, rnd, status in rows:
        if status == "void":
            continue
        if (owner, rnd) in seen:
            return f"业主 {owner} 在第{rnd}轮有两张未作废的选票"
        seen.add((owner, rnd))
    return None


@dataclass(frozen=True)
class RegisterCounts:
    issued: int
    delivered: int
    returned: int
    void: int

    def as_dict(self) -> dict:
        return {"issued": self.issued, "delivered": self.delivered, "returned": self.returned, "void": self.void}


def register_counts(statuses: Iterable[str], delivered_flags: Iterable[bool] | None = None) -> RegisterCounts:
    """Issued counts every ballot ever issued (void ones too); delivered counts ballots that were
    delivered, whether returned since or not; returned and void count their status."""
    statuses = list(statuses)
    flags = list(delivered_flags) if delivered_flags is not None else [s in ("delivered", "returned") for s in statuses]
    return RegisterCounts(len(statuses), sum(1 for s, d in zip(statuses, flags, strict=True) if d and s != "void"),
                          statuses.count("returned"), statuses.count("void"))


# --- entries and double entry -----------------------------------------------------------------

@dataclass(frozen=True)
class Reading:
    """What a ballot says: marks per item, or invalid with its reason."""

    marks: tuple[tuple[str, str], ...] = ()
    invalid: str | None = None

    @classmethod
    def of(cls, marks: Mapping[str, str] | None = None, invalid: str | None = None) -> Reading:
        if invalid:
            return cls((), invalid)
        return cls(tuple(sorted((marks or {}).items())), None)

    def as_dict(self) -> dict:
        return {"invalid": self.invalid} if self.invalid else {"marks": dict(self.marks)}

    def describe_zh(self, labels: Mapping[str, str] | None = None) -> str:
        if self.invalid:
            return f"无效票（{INVALID_REASONS.get(self.invalid, self.invalid)}）"
        labels = labels or {}
        return "；".join(f"{labels.get(i, i)}：{VOTE_ZH[v]}" for i, v in self.marks) or "全部未填（视为弃权）"


def check_reading(marks: Mapping[str, str] | None, invalid: str | None, items: list[str]) -> Reading:
    """A reading as typed: every marked item on the ballot and every mark a known vote; an invalid
    ballot names one of the known reasons and has no marks."""
    if invalid:
        if invalid not in INVALID_REASONS:
            raise VoteRefused(f"unknown invalid reason {invalid!r}",
                              f"无效原因须为{'、'.join(INVALID_REASONS.values())}之一", "invalid")
        if marks:
            raise VoteRefused("an invalid ballot has no marks", "无效票不录入表决意见", "marks")
        return Reading.of(invalid=invalid)
    clean: dict[str, str] = {}
    for item, vote in (marks or {}).items():
        if item not in items:
            raise VoteRefused(f"{item!r} is not on this ballot", f"「{item}」不是本张选票上的事项", "marks")
        if vote in ("", None):
            continue  # left blank: an abstention
        if vote not in VOTE_ZH:
            raise VoteRefused(f"unknown vote {vote!r}", f"「{item}」的表决意见须为同意、反对或弃权", "marks")
        clean[item] = vote
    return Reading.of(clean)


@dataclass(frozen=True)
class Entry:
    scrutineer: str
    reading: Reading
    seq: int  # order of entry within the case
    superseded: bool = False  # replaced by the same scrutineer's correction


@dataclass(frozen=True)
class Reconciliation:
    state: str  # pending | awaiting_second | mismatch | settled
    reading: Reading | None  # the settled reading
    scrutineers: tuple[str, ...]  # who entered the current (non-superseded) entries

    @property
    def settled(self) -> bool:
        return self.state == "settled"


RECONCILE_ZH = {"pending": "未录入", "awaiting_second": "待第二人录入", "mismatch": "两次录入不一致，待第三人核对",
                "settled": "已核定"}


def reconcile(entries: Iterable[Entry]) -> Reconciliation:
    """The ballot's state from its entries: settled on the first reading two different
    scrutineers entered (in entry order), whatever the number of checks it took."""
    current = sorted((e for e in entries if not e.superseded), key=lambda e: e.seq)
    who: dict[Reading, set[str]] = {}
    for e in current:
        seen = who.setdefault(e.reading, set())
        seen.add(e.scrutineer)
        if len(seen) >= 2:
            return Reconciliation("settled", e.reading, tuple(x.scrutineer for x in current))
    names = tuple(e.scrutineer for e in current)
    if not current:
        return Reconciliation("pending", None, names)
    if len(current) == 1:
        return Reconciliation("awaiting_second", None, names)
    return Reconciliation("mismatch", None, names)


def check_entry(entries: Iterable[Entry], scrutineer: str, correction_reason: str | None = None) -> Entry | None:
    """May `scrutineer` enter this ballot now? Returns the entry a correction replaces (None for a
    new entry), or `VoteRefused`: the same person twice without a correction, a correction
    without a reason or of nothing, or another entry on a ballot already settled."""
    current = [e for e in entries if not e.superseded]
    own = [e for e in current if e.scrutineer == scrutineer]
    if correction_reason is not None:
        if not own:
            raise VoteRefused("nothing of yours to correct", "您尚未录入该选票，无需更正", "correction_reason")
        if not correction_reason.strip():
            raise VoteRefused("a correction needs a reason", "更正录入须说明理由", "correction_reason")
        return own[-1]
    if own:
        raise VoteRefused("the same scrutineer may not enter a ballot twice",
                          "同一监票计票人不能重复录入同一张选票（双人录入须由另一人完成；如需更正请说明理由）")
    if reconcile(current).settled:
        raise VoteRefused("the ballot is already settled", "该选票两次录入一致，已核定，无需再录入")
    return None


# --- one vote per ballot across channels -------------------------------------------------------

@dataclass(frozen=True)
class VoteRecord:
    """A vote on a ballot through one channel, in the order it was recorded."""

    code: str
    channel: str  # paper | online
    seq: int


def first_recorded(records: Iterable[VoteRecord]) -> tuple[dict[str, VoteRecord], list[VoteRecord]]:
    """(the counted record per code, the records set aside): the first recorded wins."""
    winners: dict[str, VoteRecord] = {}
    aside: list[VoteRecord] = []
    for r in sorted(records, key=lambda r: r.seq):
        if r.code in winners:
            aside.append(r)
        else:
            winners[r.code] = r
    return winners, aside


# --- participation ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Participation:
    owners: int
    area: Decimal
    total_owners: int
    total_area: Decimal

    @property
    def owners_share(self) -> Fraction:
        return Fraction(self.owners, self.total_owners) if self.total_owners else Fraction(0)

    @property
    def area_share(self) -> Fraction:
        return Fraction(self.area) / Fraction(self.total_area) if self.total_area else Fraction(0)

    @property
    def quorum_met(self) -> bool:
        return self.owners_share >= Fraction(2, 3) and self.area_share >= Fraction(2, 3) and self.total_owners > 0

    def as_dict(self) -> dict:
        return {"owners": self.owners, "total_owners": self.total_owners,
                "area": format(self.area.normalize(), "f"), "total_area": format(self.total_area.normalize(), "f"),
                "owners_percent": _percent(self.owners_share), "area_percent": _percent(self.area_share),
                "quorum_percent": "66.67", "quorum_met": self.quorum_met}


def _percent(f: Fraction) -> str:
    """Rounded down to two places: a bar must never show the quorum reached before it is."""
    hundredths = (f * 10000).numerator // (f * 10000).denominator
    return f"{hundredths // 100}.{hundredths % 100:02d}"


def participation(voted_owners: Iterable[str], areas: Mapping[str, Decimal]) -> Participation:
    """Heads and area of the owners who have voted (each owner once), against the roll."""
    voted = {o for o in voted_owners if o in areas}
    return Participation(len(voted), sum((areas[o] for o in voted), Decimal(0)), len(areas),
                         sum(areas.values(), Decimal(0)))


# --- the count's inputs -----------------------------------------------------------------------

@dataclass
class CountInputs:
    ballots: list[Ballot] = field(default_factory=list)
    invalid: list[dict] = field(default_factory=list)  # {code, owner_id, reason}
    unsettled: list[str] = field(default_factory=list)  # codes entered but not settled


def count_inputs(counted: Iterable[tuple[str, str, Reading | None]], items: list[str]) -> CountInputs:
    """(code, owner id, settled reading or None) of the counted ballots → the tally's lines: one
    per item on the ballot (an unmarked item is an abstention); invalid ones listed apart;
    unsettled ones named (the count waits for them)."""
    out = CountInputs()
    for code, owner, reading in counted:
        if reading is None:
            out.unsettled.append(code)
        elif reading.invalid:
            out.invalid.append({"code": code, "owner_id": owner, "reason": reading.invalid,
                                "reason_zh": INVALID_REASONS.get(reading.invalid, reading.invalid)})
        else:
            marks = dict(reading.marks)
            out.ballots.extend(Ballot(owner, item, marks.get(item, "abstain")) for item in items)
    return out


# --- bulk entry from a sheet ----------------------------------------------------------------------

ENTRY_COLUMN_ALIASES = {"选票编号": "code", "候选人/事项": "item", "候选人": "item", "表决事项": "item",
                        "事项": "item", "表决意见": "vote", "意见": "vote", "无效原因": "invalid"}
INVALID_WORDS = {**{k: k for k in INVALID_REASONS}, **{v: k for k, v in INVALID_REASONS.items()}}
VOTE_WORDS = {"agree": "agree", "同意": "agree", "disagree": "disagree", "反对": "disagree",
              "abstain": "abstain", "弃权": "abstain", "": ""}


@dataclass
class SheetBallot:
    code: str
    line: int
    marks: dict[str, str] = field(default_factory=dict)
    invalid: str | None = None


def read_entry_sheet(data: bytes, filename: str):
    """Ballots from a sheet `选票编号, 候选人/事项, 表决意见[, 无效原因]` (CSV or XLSX): one line per
    mark; an invalid ballot is one line with its reason and no item. Returns (ballots in file
    order, problems) — the checks of each ballot itself are the per-ballot entry's."""
    from .owner_roll import Problem, column_index, read_table

    header, rows, problems = read_table(data, filename)
    if problems:
        return [], problems
    idx, problems = column_index(header, filename, ("code", "item", "vote"), ("invalid",), ENTRY_COLUMN_ALIASES)
    if problems:
        return [], problems
    ballots: dict[str, SheetBallot] = {}
    for line, cells in rows:
        cells = cells + [""] * (max(idx.values()) + 1 - len(cells))
        code, item = cells[idx["code"]].strip(), cells[idx["item"]].strip()
        word = cells[idx["vote"]].strip()
        reason = cells[idx["invalid"]].strip() if "invalid" in idx else ""
        if not code:
            problems.append(Problem(filename, line, "code is empty", "选票编号为空"))
            continue
        b = ballots.setdefault(code, SheetBallot(code, line))
        if reason:
            if reason not in INVALID_WORDS:
                problems.append(Problem(filename, line, f"unknown invalid reason {reason!r}",
                                        f"无效原因「{reason}」应为{'、'.join(INVALID_REASONS.values())}之一"))
            else:
                b.invalid = INVALID_WORDS[reason]
            continue
        vote = VOTE_WORDS.get(word, VOTE_WORDS.get(word.lower()))
        if vote is None:
            problems.append(Problem(filename, line, f"unknown vote {word!r}",
                                    f"无法识别的表决意见「{word}」（应为同意、反对或弃权）"))
        elif not item:
            problems.append(Problem(filename, line, "item is empty", "候选人/事项为空"))
        elif item in b.marks:
            problems.append(Problem(filename, line, f"{code}: {item!r} twice", f"选票 {code} 对「{item}」填写了两次"))
        else:
            b.marks[item] = vote
    return list(ballots.values()), problems
