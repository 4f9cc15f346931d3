"""Issuing, storing, numbering, correcting and verifying documents — on SQLite and PostgreSQL."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from engine.cli import app
from engine.db.models import Document
from engine.notices.service import find_by_code, issue_document, verify_pdf_bytes
from engine.runtime.errors import NotFound, ValidationFailed
from engine.runtime.service import deploy

from .samples import SAMPLES
from .support import pdf_text

FIXTURES = Path(__file__).resolve().parent / "fixtures"
KINDS_ON_DB = ["preparatory_group_list", "ballot", "mediation_agreement", "assembly_vote_result"]


def _issue(rt, kind, context=None, **kw):
    with rt.uow() as s:
        doc = issue_document(s, kind=kind, context=dict(SAMPLES[kind] if context is None else context), actor="street", now=rt.now(),
                             settings=rt.settings, **kw)
        s.expunge(doc)
        return doc


def _count(rt) -> int:
    with rt.uow() as s:
        return s.scalar(select(func.count()).select_from(Document))


@pytest.mark.parametrize("kind", KINDS_ON_DB)
def test_issue_store_and_verify(runtime, kind):
    doc = _issue(runtime, kind)
    assert len(doc.verification_code) == 10 and doc.size == len(doc.content) and doc.content[:5] == b"%PDF-"
    assert doc.kind == kind and doc.issuer == "江浦街道办事处" and doc.issued_on == "2026-11-21"
    assert doc.created_by == "street" and doc.created_at == runtime.now()
    with runtime.uow() as s:
        ok = verify_pdf_bytes(s, doc.content)
        assert ok.genuine and ok.document.id == doc.id
        changed = bytearray(doc.content)
        changed[len(changed) // 2] ^= 0x01
        bad = verify_pdf_bytes(s, bytes(changed))
        assert not bad.genuine and bad.document is None
        assert find_by_code(s, doc.verification_code.lower()).id == doc.id
        assert find_by_code(s, "NOSUCHCODE") is None
    assert doc.verification_code in pdf_text(doc.content)
    stored = json.loads(doc.context)
    assert "qr_data_uri" not in stored and stored["issuer"] == "江浦街道办事处"


def test_document_numbers_run_per_issuer_and_year(runtime):
    a = _issue(runtime, "mediation_acceptance")
    b = _issue(runtime, "litigation_referral")
    other = _issue(runtime, "litigation_referral", dict(SAMPLES["litigation_referral"], issuer="文景街道办事处"))
    given = _issue(runtime, "litigation_referral", dict(SAMPLES["litigation_referral"], doc_number="江浦调告〔2026〕9号"))
    ballot = _issue(runtime, "ballot")
    # The demo street's 机关代字 is 江街; an issuer without an organisation has none.
    assert (a.doc_number, b.doc_number, other.doc_number) == ("江街〔2026〕1号", "江街〔2026〕2号", "〔2026〕1号")
    assert given.doc_number == "江浦调告〔2026〕9号" and ballot.doc_number is None
    # A number the caller gives takes its place in the issuer's sequence: the next one is 10.
    assert _issue(runtime, "mediation_acceptance").doc_number == "江街〔2026〕10号"
    assert "江街〔2026〕2号" in pdf_text(b.content)
    with pytest.raises(ValidationFailed) as err:  # the same sequence number twice in a year
        _issue(runtime, "litigation_referral", dict(SAMPLES["litigation_referral"], doc_number="〔2026〕2号"))
    assert "已使用过文号" in err.value.message_zh


def test_missing_variable_stores_nothing(runtime):
    ctx = dict(SAMPLES["election_result"])
    del ctx["elected"]
    with pytest.raises(ValidationFailed) as err:
        _issue(runtime, "election_result", ctx)
    assert "elected" in str(err.value)
    ctx = dict(SAMPLES["committee_filing"], members=[{"name": "司马光明"}])  # no position: StrictUndefined
    with pytest.raises(ValidationFailed) as err:
        _issue(runtime, "committee_filing", ctx)
    assert "position" in str(err.value)
    with pytest.raises(ValidationFailed):
        _issue(runtime, "no_such_kind", {})
    with pytest.raises(ValidationFailed):  # without a case there is no default issuer
        _issue(runtime, "mediation_acceptance", {k: v for k, v in SAMPLES["mediation_acceptance"].items()
                                                  if k != "issuer"})
    assert _count(runtime) == 0


def test_correction_is_a_new_document_naming_the_old(runtime):
    old = _issue(runtime, "candidate_list_publicity")
    fixed = _issue(runtime, "candidate_list_publicity",
                   dict(SAMPLES["candidate_list_publicity"], publicity_end="2026-11-30"), replaces=old.id,
                   replace_reason="公示截止日期有误")
    assert fixed.replaces_id == old.id and fixed.id != old.id and fixed.verification_code != old.verification_code
    text = pdf_text(fixed.content)
    assert f"本公示替代{old.doc_number}《关于业主委员会委员候选人名单的公示》。替代原因：公示截止日期有误。" in text
    with pytest.raises(ValidationFailed) as err:  # a replacement says why
        _issue(runtime, "candidate_list_publicity", replaces=old.id)
    assert "替代原因" in err.value.message_zh
    with runtime.uow() as s:
        again = s.get(Document, old.id)
        assert again.sha256 == old.sha256 and again.content == old.content  # the old one is untouched
        res = verify_pdf_bytes(s, old.content).as_dict()
        assert res["genuine"] and [d["id"] for d in res["superseded_by"]] == [fixed.id]
    with pytest.raises(NotFound):
        _issue(runtime, "candidate_list_publicity", replaces=99999)


def test_service_task_issues_notice_with_the_case_street_as_issuer(runtime, actors):
    deploy(runtime, [FIXTURES / "notice_flow.bpmn"], FIXTURES / "forms")
    ctx = {k: v for k, v in SAMPLES["preparatory_group_list"].items() if k != "issuer"}
    view = runtime.start_case("notice_flow", "PK-JP-XC-01", actors["street"],
                              {"notice_kind": "preparatory_group_list", "notice_context": ctx})
    with runtime.uow() as s:
        from engine.db.models import Case

        case = s.scalar(select(Case).where(Case.case_number == view.case_number))
        notice = view.data["notice"]
        doc = s.get(Document, notice["document_id"])
        assert doc.case_id == case.id and doc.issuer == "江浦街道办事处" and doc.created_by == "street"
        assert notice == {"document_id": doc.id, "verification_code": doc.verification_code, "sha256": doc.sha256,
                          "title": "关于业主大会筹备组成员名单的公示", "doc_number": "江街〔2026〕1号"}
        verdict = verify_pdf_bytes(s, doc.content)
        assert verdict.genuine and verdict.case_number == view.case_number
        text = pdf_text(doc.content)
        assert view.case_number in text and "http://testserver/verify/" + doc.verification_code in text


def test_service_task_with_bad_context_fails_the_start_and_stores_nothing(runtime, actors):
    deploy(runtime, [FIXTURES / "notice_flow.bpmn"], FIXTURES / "forms")
    with pytest.raises(Exception) as err:
        runtime.start_case("notice_flow", "PK-JP-XC-01", actors["street"],
                           {"notice_kind": "preparatory_group_list", "notice_context": {"compound_name": "x"}})
    assert "members" in str(err.value)
    assert _count(runtime) == 0


def test_cli_issue_verify_show_export(cli, tmp_path):
    data = tmp_path / "ctx.json"
    data.write_text(json.dumps(SAMPLES["mediation_acceptance"], ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "n.pdf"
    info = json.loads(cli("notice", "issue", "mediation_acceptance", "--data", f"@{data}", "--as", "street",
                          "--out", out, "--json").stdout)
    assert out.read_bytes()[:5] == b"%PDF-"
    res = json.loads(cli("notice", "verify", out, "--json").stdout)
    assert res["genuine"] and res["document"]["verification_code"] == info["verification_code"]
    assert "真实" in cli("notice", "verify", out).stdout
    tampered = tmp_path / "t.pdf"
    raw = bytearray(out.read_bytes())
    raw[-100] ^= 0x20
    tampered.write_bytes(bytes(raw))
    assert "不一致" in cli("notice", "verify", tampered, code=1).stdout
    shown = json.loads(cli("notice", "show", info["verification_code"], "--json").stdout)
    assert shown["id"] == info["id"]
    cli("notice", "show", "ZZZZZZZZZZ", code=1)
    again = tmp_path / "again.pdf"
    cli("notice", "export", info["id"], "--out", again)
    assert again.read_bytes() == out.read_bytes()
    cli("notice", "issue", "mediation_acceptance", "--data", "{}", "--as", "street", code=2)
    cli("notice", "issue", "mediation_acceptance", "--data", f"@{data}", "--as", "auditor", code=2)
    cli("notice", "verify", tmp_path / "missing.pdf", code=2)


def test_cli_doctor(cli, db_url):
    res = json.loads(cli("doctor", "--json").stdout)
    names = {c["name"]: c for c in res["checks"]}
    assert res["ok"] and names["harfbuzz-subset"]["ok"] and names["database"]["ok"] and names["migrations"]["ok"]
    assert any(n.startswith("font ") for n in names)


def test_cli_doctor_names_an_unreachable_database():
    res = CliRunner().invoke(app, ["--db", "postgresql://nobody@127.0.0.1:1/none", "doctor"])
    assert res.exit_code == 1 and "database" in res.output and "missing" in res.output
