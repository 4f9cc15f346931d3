"""Notices residents can trust, on SQLite and PostgreSQL: numbers unique per issuer and year in the
database itself, an organisation's electronic seal on its notices (audited), the 测试文书 mark
under an unreachable base URL, and a notice's status — valid, superseded, revoked (audited)."""
from __future__ import annotations

import io
import json
from dataclasses import replace

import pdfplumber
import pytest
from PIL import Image, ImageDraw
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from engine import audit
from engine.db.models import AuditEvent, Document, DocumentRevocation, OrgSeal, OrgUnit
from engine.notices.service import revoke_document, set_org_notice_settings, status_of, verify_pdf_bytes
from engine.runtime.errors import Conflict, Forbidden, ValidationFailed

from .samples import SAMPLES
from .support import MM, pdf_text
from .test_documents import _issue


def seal_png(size: int = 400) -> bytes:
    """A red ring with a star on a transparent ground, like a scanned seal."""
    img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.ellipse((8, 8, size - 8, size - 8), outline=(230, 0, 18, 255), width=size // 25)
    d.regular_polygon((size / 2, size / 2, size / 6), 5, fill=(230, 0, 18, 255))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def _street(s) -> OrgUnit:
    return s.scalar(select(OrgUnit).where(OrgUnit.code == "PK-JP"))


def _events(rt, chain: str) -> list[AuditEvent]:
    with rt.uow() as s:
        events = audit.chain_events(s, chain)
        s.expunge_all()
        return events


def test_the_database_refuses_a_second_number_of_the_same_issuer_and_year(runtime):
    doc = _issue(runtime, "mediation_acceptance")
    assert (doc.doc_year, doc.doc_seq, doc.doc_number) == (2026, 1, "江街〔2026〕1号")
    with pytest.raises(IntegrityError):  # not only the allocation lock: the unique index
        with runtime.uow() as s:
            s.add(Document(kind="x", title="x", issuer=doc.issuer, doc_number="〔2026〕1号", doc_year=2026, doc_seq=1,
                           issued_on="2026-11-21", sha256="0" * 64, size=1, content=b"x",
                           verification_code="DUPLICATE2", context="{}", created_by="x", created_at=runtime.now()))
            s.flush()
    other = _issue(runtime, "mediation_acceptance", dict(SAMPLES["mediation_acceptance"], issuer="文景街道办事处"))
    assert (other.doc_year, other.doc_seq, other.doc_number) == (2026, 1, "〔2026〕1号")  # another issuer


def test_prefix_and_seal_are_set_per_organisation_audited_and_checked(runtime):
    with runtime.uow() as s:
        set_org_notice_settings(s, _street(s), actor="admin", now=runtime.now(), doc_prefix="江浦街", seal=seal_png())
    for bad in ({"doc_prefix": "JP"}, {"doc_prefix": "江〔街〕"}, {"doc_prefix": "一二三四五六七八九十一"},
                {"seal": b"GIF89a"}, {"seal": b""}, {"seal": seal_png(100)}):
        with pytest.raises(ValidationFailed):
            with runtime.uow() as s:
                set_org_notice_settings(s, _street(s), actor="admin", now=runtime.now(),
                                        **{"doc_prefix": "江街", **bad})
    with runtime.uow() as s:  # the refused attempts changed nothing, not even the valid prefix beside them
        street = _street(s)
        assert street.doc_prefix == "江浦街" and s.get(OrgSeal, street.id).sha256
    actions = [e.action for e in _events(runtime, "org:PK-JP")]
    assert actions == ["org_doc_prefix_changed", "org_seal_uploaded"]
    doc = _issue(runtime, "candidate_list_publicity")
    assert doc.doc_number == "江浦街〔2026〕1号"
    with pdfplumber.open(io.BytesIO(doc.content)) as pdf:
        page = pdf.pages[-1]
        seal = [im for im in page.images if abs((im["x1"] - im["x0"]) / MM - 42) < 0.5]
        assert len(seal) == 1 and abs((seal[0]["bottom"] - seal[0]["top"]) / MM - 42) < 0.5  # a 42 mm seal
        date = page.search("2026年11月21日")[-1]
        im = seal[0]
        assert im["x0"] < date["x0"] and date["x1"] < im["x1"] and im["top"] < date["top"] < im["bottom"]
        assert 28 - 1 <= im["x0"] / MM and im["x1"] / MM <= 184 + 1  # inside the type area
    assert json.loads(doc.context)["seal_image"] is True  # the image itself is not copied into the record
    with runtime.uow() as s:
        set_org_notice_settings(s, _street(s), actor="admin", now=runtime.now(), remove_seal=True)
    plain = _issue(runtime, "candidate_list_publicity")
    with pdfplumber.open(io.BytesIO(plain.content)) as pdf:
        assert not [im for im in pdf.pages[-1].images if abs((im["x1"] - im["x0"]) / MM - 42) < 0.5]
    assert _events(runtime, "org:PK-JP")[-1].action == "org_seal_removed"


def test_a_notice_under_a_loopback_base_url_is_marked_as_a_test(runtime):
    local = replace(runtime.settings, base_url="http://127.0.0.1:8101")
    with runtime.uow() as s:
        from engine.notices.service import issue_document

        doc = issue_document(s, kind="mediation_acceptance", context=dict(SAMPLES["mediation_acceptance"]),
                             actor="street", now=runtime.now(), settings=local)
        content = doc.content
    text = pdf_text(content)
    assert "测试文书" in text and "http://127.0.0.1:8101/verify/" in text
    assert "测试文书" not in pdf_text(_issue(runtime, "mediation_acceptance").content)  # http://testserver


def test_status_valid_superseded_and_revoked(runtime):
    old = _issue(runtime, "candidate_list_publicity")
    with runtime.uow() as s:
        assert status_of(s, s.get(Document, old.id))["status_zh"] == "有效"
    new = _issue(runtime, "candidate_list_publicity", replaces=old.id, replace_reason="候选人吴德勇经异议核实不符合条件")
    assert new.doc_number == "江街〔2026〕2号"
    assert f"本公示替代{old.doc_number}" in pdf_text(new.content) and "候选人吴德勇经异议核实不符合条件" in pdf_text(new.content)
    with runtime.uow() as s:
        st = status_of(s, s.get(Document, old.id))
        assert st["status"] == "superseded" and st["status_zh"] == "已被江街〔2026〕2号替代"
        assert st["replaced_by"]["verification_code"] == new.verification_code
        assert verify_pdf_bytes(s, old.content).as_dict()["status"]["status_zh"] == "已被江街〔2026〕2号替代"
    with runtime.uow() as s:
        with pytest.raises(Forbidden):
            revoke_document(s, s.get(Document, new.id), actor="street", role="street_staff", reason="发布有误", now=runtime.now())
    for reason in ("", "  ", "错", "x" * 501):
        with pytest.raises(ValidationFailed):
            with runtime.uow() as s:
                revoke_document(s, s.get(Document, new.id), actor="sparty", role="street_party_committee",
                                reason=reason, now=runtime.now())
    with runtime.uow() as s:
        assert s.scalar(select(func.count()).select_from(DocumentRevocation)) == 0
        revoke_document(s, s.get(Document, new.id), actor="sparty", role="street_party_committee",
                        reason="选举程序暂停，候选人名单重新审查", now=runtime.now())
    with runtime.uow() as s:
        st = status_of(s, s.get(Document, new.id))
        assert st["status"] == "revoked" and st["reason"] == "选举程序暂停，候选人名单重新审查"
        with pytest.raises(Conflict):
            revoke_document(s, s.get(Document, new.id), actor="sparty", role="street_party_committee",
                            reason="再次撤销", now=runtime.now())
    events = _events(runtime, f"document:{new.id}")  # no case: the document's own chain
    assert [e.action for e in events] == ["document_revoked"] and "选举程序暂停" in events[0].detail
    with pytest.raises(ValidationFailed):  # a revoked notice is not replaced; it is void
        _issue(runtime, "candidate_list_publicity", replaces=new.id, replace_reason="更正")


def test_cli_replacement_needs_a_reason(cli, tmp_path):
    data = tmp_path / "ctx.json"
    data.write_text(json.dumps(SAMPLES["mediation_acceptance"], ensure_ascii=False), encoding="utf-8")
    first = json.loads(cli("notice", "issue", "mediation_acceptance", "--data", f"@{data}", "--as", "street",
                           "--json").stdout)
    assert first["doc_number"] == "江街〔2026〕1号"
    cli("notice", "issue", "mediation_acceptance", "--data", f"@{data}", "--as", "street",
        "--replaces", str(first["id"]), code=2)
    second = json.loads(cli("notice", "issue", "mediation_acceptance", "--data", f"@{data}", "--as", "street",
                            "--replaces", str(first["id"]), "--reason", "调解员变更", "--json").stdout)
    assert second["doc_number"] == "江街〔2026〕2号" and second["replaces_id"] == first["id"]
    shown = json.loads(cli("notice", "show", first["verification_code"], "--json").stdout)
    assert shown["status"]["status_zh"] == "已被江街〔2026〕2号替代"
    assert "已被江街〔2026〕2号替代" in cli("notice", "show", first["verification_code"]).stdout


def test_doctor_warns_on_a_loopback_base_url(cli, monkeypatch):
    monkeypatch.setenv("HONGWU_BASE_URL", "http://127.0.0.1:8101")
    res = json.loads(cli("doctor", "--json").stdout)
    check = {c["name"]: c for c in res["checks"]}["base-url"]
    assert not check["ok"] and not check["required"] and "本机地址" in check["detail"]
    monkeypatch.setenv("HONGWU_BASE_URL", "https://hongwu.jiangpu.gov.cn")
    check = {c["name"]: c for c in json.loads(cli("doctor", "--json").stdout)["checks"]}["base-url"]
    assert check["ok"]
