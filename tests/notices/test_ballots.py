"""Ballots for a whole compound: one page per owner, chunked documents, codes that lead back."""
from __future__ import annotations

import io
import json

import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from engine.cli import app
from engine.notices.ballots import issue_ballots
from engine.notices.service import find_by_code, verify_pdf_bytes
from engine.runtime.errors import ValidationFailed

from .samples import SAMPLES
from .support import chars_missing_glyphs

CONTEXT = {k: v for k, v in SAMPLES["ballot"].items() if k != "ballots"}


def _owners(n: int) -> list[dict]:
    return [{"owner_name": f"业主{i:03d}", "owner_id": f"O{i:03d}", "units": [f"{i}幢101室"], "area": 80 + i}
            for i in range(1, n + 1)]


def test_one_page_per_owner_in_chunks(runtime):
    seen = []
    with runtime.uow() as s:
        run = issue_ballots(s, context=CONTEXT, owners=_owners(5), actor="street", now=runtime.now(),
                            settings=runtime.settings, chunk_size=2, workers=1,
                            progress=lambda done, total: seen.append((done, total)))
        docs = [(d.id, d.verification_code, d.content, d.pages, d.title) for d in run.documents]
    assert seen == [(0, 5), (2, 5), (4, 5), (5, 5)]
    assert [d[3] for d in docs] == [2, 2, 1] and run.ballots == 5
    first = PdfReader(io.BytesIO(docs[0][2]))
    assert first.trailer["/Root"]["/Lang"] == "zh-CN" and 'pdfaid:part="3"' in first.xmp_metadata.rdf_root.toxml()
    assert first.metadata.title == docs[0][4]
    assert chars_missing_glyphs(docs[0][2]) == []  # owner bands and the shared underlay
    assert docs[0][4].endswith("（第1—2号）") and docs[2][4].endswith("（第5—5号）")
    serial = 0
    for doc_id, code, content, pages, _title in docs:
        reader = PdfReader(io.BytesIO(content))
        assert len(reader.pages) == pages
        for page in reader.pages:
            serial += 1
            text = page.extract_text().replace("\n", "")
            assert f"业主{serial:03d}" in text and f"{code}-{serial}" in text and f"O{serial:03d}" in text
            assert "司马光明" in text and "同意" in text and "反对" in text and "弃权" in text
            assert f"第 {serial} 号" in text
        with runtime.uow() as s:
            assert verify_pdf_bytes(s, content).genuine
            assert find_by_code(s, f"{code}-{serial}").id == doc_id
            assert find_by_code(s, code).id == doc_id


def test_no_owners_is_refused(runtime):
    with runtime.uow() as s, pytest.raises(ValidationFailed):
        issue_ballots(s, context=CONTEXT, owners=[], actor="street", now=runtime.now(), settings=runtime.settings)


def test_parallel_workers_match_single_process(sqlite_url, clock):
    from engine import demo
    from tests.conftest import make_runtime

    rt = make_runtime(sqlite_url, clock)
    with rt.uow() as s:
        demo.seed(s, clock.now(), password=None)
        run = issue_ballots(s, context=CONTEXT, owners=_owners(6), actor="street", now=rt.now(),
                            settings=rt.settings, chunk_size=3, workers=2)
        assert [d.pages for d in run.documents] == [3, 3]
        text = "".join(p.extract_text() for d in run.documents for p in PdfReader(io.BytesIO(d.content)).pages)
    assert all(f"业主{i:03d}" in text for i in range(1, 7))


def test_cli_ballots_from_owner_roll_with_progress(runtime, db_url, tmp_path):
    roll = tmp_path / "roll.csv"
    roll.write_text("unit_id,owner_id,owner_name,area_m2\n1-101,A,张三,88.50\n1-102,A,张三,20.00\n1-201,B,李四,90.10\n",
                    encoding="utf-8")
    data = tmp_path / "ballot.json"
    data.write_text(json.dumps(CONTEXT, ensure_ascii=False), encoding="utf-8")
    out_dir = tmp_path / "out"
    res = CliRunner().invoke(app, ["--db", db_url, "notice", "ballots", "--owners", str(roll), "--data", f"@{data}",
                                   "--as", "street", "--workers", "1", "--out-dir", str(out_dir), "--json"])
    assert res.exit_code == 0, res.output
    info = json.loads(res.stdout[res.stdout.index("{"):])
    assert info["ballots"] == 2 and len(info["documents"]) == 1
    pdf = next(out_dir.glob("*.pdf")).read_bytes()
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "张三" in text and "1-101、1-102" in text and "108.50" in text and "李四" in text
