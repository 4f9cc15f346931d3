"""Benchmark: parse a 10,000-unit / 9,000-owner roll and an 11-candidate ballots CSV, then count.

Prints one JSON object: {"units", "owners", "candidates", "seconds"}. Target: ≤ 1 s.
"""
from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.domain.owner_roll import parse_roll  # noqa: E402
from engine.domain.tally import parse_ballots, tally  # noqa: E402

UNITS, OWNERS, CANDIDATES, SEATS = 10_000, 9_000, 11, 9


def make_files(seed: int = 7) -> tuple[bytes, bytes]:
    rnd = random.Random(seed)
    roll = ["unit_id,owner_id,owner_name,area_m2,building"]
    for u in range(UNITS):
        owner = u if u < OWNERS else rnd.randrange(OWNERS)  # 1,000 units belong to owners of several
        roll.append(f"{u // 100 + 1}-{u:05d},O{owner:05d},业主{owner},{rnd.randint(4000, 16000) / 100:.2f},{u // 100 + 1}")
    ballots = ["owner_id,item,vote"]
    words = ["同意", "同意", "同意", "反对", "弃权"]
    for o in range(OWNERS):
        if rnd.random() < 0.8:
            for c in range(CANDIDATES):
                if rnd.random() < 0.95:
                    ballots.append(f"O{o:05d},C{c + 1:02d},{rnd.choice(words)}")
    return ("\n".join(roll) + "\n").encode(), ("\n".join(ballots) + "\n").encode()


def main() -> None:
    roll_csv, ballots_csv = make_files()
    start = time.perf_counter()
    roll = parse_roll(roll_csv, "roll.csv")
    ballots = parse_ballots(ballots_csv, "ballots.csv", roll)
    result = tally(roll, ballots, seats=SEATS)
    seconds = time.perf_counter() - start
    assert roll.total_owners == OWNERS and len(result.items) == CANDIDATES
    print(json.dumps({"units": len(roll.units), "owners": roll.total_owners, "candidates": len(result.items),
                      "seconds": round(seconds, 4)}))


if __name__ == "__main__":
    main()
