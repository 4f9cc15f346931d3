"""Regression, through the CLI: a matter that hires a property company (Civil Code Art. 278 item 4)
filed as "not on the list" used to skip the party branch and be decided by the committee alone."""
from __future__ import annotations

import json

from engine.domain import prior_review as pr
from tests.prior_review.support import events, review, submission


def _json(result) -> dict:
    return json.loads(result.output)


def test_an_item_4_matter_declared_unlisted_cannot_skip_the_branch_review(prt, cli, tmp_path):
    started = _json(cli("case", "start", "prior_review", "--compound", "PK-JP-XC-01", "--as", "community", "--json"))
    cn = started["case_number"]
    bypass = submission("unlisted", title="续聘物业服务企业", unlisted_name="续聘物业公司",
                        unlisted_art278_item=4, unlisted_assembly_vote=False)
    submitted = _json(cli("task", "complete", started["tasks"][0]["id"], "--as", "community",
                          "--data", json.dumps(bypass, ensure_ascii=False), "--json"))
    # The catalogue, not the submitter, classifies it: listed, reviewed first, decided by the owners.
    assert [t["name"] for t in submitted["tasks"]] == ["branch_review"]
    summary = submitted["summary"]
    assert (summary["matter_code"], summary["listed"], summary["assembly_vote"], summary["proposed_unlisted"]) == \
        ("property_company", True, True, True)
    history = [a for a, _ in events(prt, cn)]
    assert pr.CLASSIFIED in history and pr.REVIEW_NOT_REQUIRED not in history

    review_id = submitted["tasks"][0]["id"]
    path = tmp_path / "review.json"
    path.write_text(json.dumps(review(prt), ensure_ascii=False), encoding="utf-8")
    refused = cli("task", "complete", review_id, "--as", "community", "--data", f"@{path}", code=2)
    assert "无权办理" in refused.output  # the submitter cannot give the branch's opinion either
    after = _json(cli("task", "complete", review_id, "--as", "branch", "--data", f"@{path}", "--json"))
    assert [t["name"] for t in after["tasks"]] == ["arrange_vote"]  # not the committee alone

    # Nor can the street take the matter off its list to let the next one through.
    off = cli("catalogue", "toggle", "property_company", "--street", "PK-JP", "--off", "--as", "street", code=2)
    assert "不得停用" in off.output
    gone = pr.default_setting()
    gone["matters"] = [m for m in gone["matters"] if m["code"] != "property_company"]
    removed = cli("catalogue", "set", "--street", "PK-JP", "--data", json.dumps(gone, ensure_ascii=False),
                  "--as", "street", code=2)
    assert "不得删除" in removed.output
    assert _json(cli("catalogue", "history", "--street", "PK-JP", "--json")) == []


def test_the_unlisted_proposal_needs_its_art_278_item(prt, cli):
    started = _json(cli("case", "start", "prior_review", "--compound", "PK-JP-XC-01", "--as", "community", "--json"))
    no_item = submission("unlisted", unlisted_name="续聘物业公司", unlisted_assembly_vote=False)
    refused = cli("task", "complete", started["tasks"][0]["id"], "--as", "community",
                  "--data", json.dumps(no_item, ensure_ascii=False), code=2)
    assert "民法典第二百七十八条项次" in refused.output
    shown = _json(cli("case", "show", started["case_number"], "--as", "community", "--json"))
    assert [t["name"] for t in shown["tasks"]] == ["submit"] and shown["version"] == started["version"]
