"""`hongwu tally`: JSON output, text output, and exit code 2 with file:line problems."""
from __future__ import annotations

import json

from typer.testing import CliRunner

from engine.cli import app

ROLL = """unit_id,owner_id,owner_name,area_m2,building
1-101,O1,张三,90.5,1
1-102,O1,张三,80,1
1-103,O2,李四,100,1
1-104,O3,王五,70.25,1
"""
BALLOTS = """owner_id,item,vote
O1,C1,同意
O2,C1,agree
O3,C1,反对
O1,C2,agree
O2,C2,agree
O3,C2,agree
"""


def _files(tmp_path, roll=ROLL, ballots=BALLOTS):
    r, b = tmp_path / "roll.csv", tmp_path / "ballots.csv"
    r.write_text(roll, encoding="utf-8")
    b.write_text(ballots, encoding="utf-8")
    return str(r), str(b)


def test_tally_json(tmp_path):
    r, b = _files(tmp_path)
    res = CliRunner().invoke(app, ["tally", "--roll", r, "--ballots", b, "--seats", "1", "--json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    assert d["total_area"] == "340.75" and d["total_owners"] == 3
    assert d["participating_owners"] == 3 and d["quorum_met"] is True
    assert [i["passed"] for i in d["items"]] == [True, True]
    assert d["items"][0]["agree_area"] == "270.5" and d["items"][0]["disagree_owners"] == 1
    assert d["elected"] == ["C2"] and d["ties"] == []


def test_tally_three_quarters_text(tmp_path):
    r, b = _files(tmp_path)
    res = CliRunner().invoke(app, ["tally", "--roll", r, "--ballots", b, "--threshold", "three_quarters"])
    assert res.exit_code == 0, res.output
    assert "C1\t2/270.5\t1/70.25\t0/0\t未通过" in res.stdout
    assert "C2\t3/340.75" in res.stdout


def test_tally_bad_ballots_exit_2_one_line_each(tmp_path):
    r, b = _files(tmp_path, ballots="owner_id,item,vote\nO9,C1,agree\nO1,C1,yes\nO2,C1,agree\nO2,C1,agree\n")
    res = CliRunner().invoke(app, ["tally", "--roll", r, "--ballots", b, "--json"])
    assert res.exit_code == 2
    assert res.stdout == ""
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 3
    assert f"{b}:2" in lines[0] and f"{b}:3" in lines[1] and f"{b}:5" in lines[2]


def test_tally_bad_roll_exit_2(tmp_path):
    r, b = _files(tmp_path, roll="unit_id,owner_id,owner_name,area_m2\n1,O1,甲,0\n1,O2,乙,x\n")
    res = CliRunner().invoke(app, ["tally", "--roll", r, "--ballots", b])
    assert res.exit_code == 2 and res.stdout == ""
    assert len(res.stderr.strip().splitlines()) == 3
    assert f"{r}:2" in res.stderr and f"{r}:3" in res.stderr
