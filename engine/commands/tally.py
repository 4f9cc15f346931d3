"""hongwu tally: count an owners' vote from an owner roll and a ballots file (no database)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from . import _common


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
    if seats is not None:
        lines.append(f"当选（{len(result['elected'])}/{seats}）：{'、'.join(result['elected']) or '无'}")
        if result["ties"]:
            lines.append(f"票数相同、末位席位空缺：{'、'.join(result['ties'])}")
    return "\n".join(lines)


def register(app: typer.Typer) -> None:
    @app.command()
    def tally(roll: Path = typer.Option(..., "--roll", help="业主名册 CSV/XLSX：unit_id,owner_id,owner_name,area_m2[,building]"),
              ballots: Path = typer.Option(..., "--ballots", help="选票 CSV：owner_id,item,vote"),
              seats: Optional[int] = typer.Option(None, "--seats", min=1, help="应选名额"),
              threshold: str = typer.Option("majority", "--threshold", help="majority | three_quarters"),
              as_json: bool = typer.Option(False, "--json")) -> None:
        """按《民法典》第二百七十八条统计业主表决（双三分之二参与，过半数/四分之三以上通过）。"""
        from engine.domain.owner_roll import parse_roll
        from engine.domain.tally import THRESHOLDS, parse_ballots, tally as count

        if threshold not in THRESHOLDS:
            _common.fail(f"--threshold 应为 majority 或 three_quarters，当前为 {threshold!r}")
        roll_bytes, ballot_bytes = _read(roll), _read(ballots)
        with _common.errors_exit():
            owner_roll = parse_roll(roll_bytes, str(roll))
            lines = parse_ballots(ballot_bytes, str(ballots), owner_roll)
            result = count(owner_roll, lines, threshold=threshold, seats=seats).to_dict()
        _common.emit(result, as_json, _text(result, threshold, seats))
