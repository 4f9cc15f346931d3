"""hongwu tally: count an owners' vote from an owner roll and a ballots file (no database)."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, cast

import typer

from . import _common

if TYPE_CHECKING:
    from engine.domain.tally import SetAside, Threshold


def _read(path: Path) -> bytes:
    if not path.is_file():
        _common.fail(f"文件不存在 no such file: {path}")
    return path.read_bytes()


def _text(result: dict, threshold: str, seats: int | None) -> str:
    word = "过半数" if threshold == "majority" else "四分之三以上"
    lines = [
        f"总面积 {result['total_area']} ㎡，总人数 {result['total_owners']}",
        f"参与表决 面积 {result['participating_area']} ㎡，人数 {result['participating_owners']}，"
        f"{'达到' if result['quorum_met'] else '未达到'}“双三分之二”参与要求",
        f"通过标准：参与表决专有部分面积和人数{'均过半数' if threshold == 'majority' else '均四分之三以上'}同意（{word}）",
        "事项\t同意(人/㎡)\t反对(人/㎡)\t弃权(人/㎡)\t结果",
    ]
    for it in result["items"]:
        lines.append(f"{it['item']}\t{it['agree_owners']}/{it['agree_area']}\t{it['disagree_owners']}/{it['disagree_area']}"
                     f"\t{it['abstain_owners']}/{it['abstain_area']}\t{'通过' if it['passed'] else '未通过'}")
    aside = result.get("set_aside")
    if aside and aside["count"]:
        lines.append(f"无效票（不在选票上）{aside['count']} 张，未计入：" +
                     "；".join(f"{why} {n} 张" for why, n in aside["reasons"].items()))
        lines += [f"  {line}" for line in aside["lines"]]
    if seats is not None:
        lines.append(f"当选（{len(result['elected'])}/{seats}）：{'、'.join(result['elected']) or '无'}")
        if result["ties"]:
            lines.append(f"票数相同、末位席位空缺：{'、'.join(result['ties'])}")
    return "\n".join(lines)


def _ballot(spec: str) -> dict[str, str]:
    """`C1=张伟,C2=王芳` (or `C1,C2`) → {id: name}; a malformed list is a one-line error."""
    out: dict[str, str] = {}
    for part in spec.replace("，", ",").split(","):
        cid, _, name = part.strip().partition("=")
        cid, name = cid.strip(), name.strip()
        if not cid or cid in out:
            _common.fail(f"--candidates 格式应为 C1=张伟,C2=王芳，编号不得为空或重复：{spec!r}")
        out[cid] = name or cid
    return out


def register(app: typer.Typer) -> None:
    @app.command()
    def tally(roll: Path = typer.Option(..., "--roll", help="业主名册 CSV/XLSX：unit_id,owner_id,owner_name,area_m2[,building]"),
              ballots: Path = typer.Option(..., "--ballots", help="选票 CSV：owner_id,item,vote"),
              seats: int | None = typer.Option(None, "--seats", min=1, help="应选名额"),
              threshold: str = typer.Option("majority", "--threshold", help="majority | three_quarters"),
              candidates: str | None = typer.Option(
                  None, "--candidates", help="选票上的候选人：C1=张伟,C2=王芳（或只写编号）；其他人的票拒收"),
              set_aside: bool = typer.Option(False, "--set-aside", help="与 --candidates 同用：其他人的票按无效票计出，不拒收"),
              as_json: bool = typer.Option(False, "--json")) -> None:
        """按《民法典》第二百七十八条统计业主表决（双三分之二参与，过半数/四分之三以上通过）。"""
        from engine.domain.owner_roll import parse_roll
        from engine.domain.tally import THRESHOLDS, BallotError, match_ballot_items, parse_ballots, set_aside_summary
        from engine.domain.tally import tally as count

        if threshold not in THRESHOLDS:
            _common.fail(f"--threshold 应为 majority 或 three_quarters，当前为 {threshold!r}")
        if set_aside and not candidates:
            _common.fail("--set-aside 须与 --candidates 一起使用（先说明选票上有哪些候选人）")
        on_ballot = _ballot(candidates) if candidates else None
        roll_bytes, ballot_bytes = _read(roll), _read(ballots)
        with _common.errors_exit():
            owner_roll = parse_roll(roll_bytes, str(roll))
            lines = parse_ballots(ballot_bytes, str(ballots), owner_roll)
            aside: list[SetAside] = []
            if on_ballot is not None:
                lines, aside, errors = match_ballot_items(lines, on_ballot, str(ballots))
                if errors or (aside and not set_aside):
                    raise BallotError(errors + [a.problem for a in aside])
            items = list(on_ballot) if on_ballot is not None else None
            result = count(owner_roll, lines, items=items, threshold=cast("Threshold", threshold), seats=seats).to_dict()
            if on_ballot is not None:
                result["set_aside"] = set_aside_summary(aside)
        _common.emit(result, as_json, _text(result, threshold, seats))
