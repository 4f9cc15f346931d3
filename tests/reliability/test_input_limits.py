"""Input limits: oversized and hostile bodies, XLSX bombs, odd numbers and NUL characters are
refused with a clear Chinese error — never a 500 — and a refused submission stores nothing."""
import io
import json
import time
import zipfile

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from engine.db.models import Attachment, AuditEvent, Case
from engine.domain import owner_roll
from engine.domain.owner_roll import RollError, parse_roll
from engine.runtime import limits as limits_mod
from engine.runtime.errors import ValidationFailed
from tests.reliability._web import api_client
from tests.web.support import logged_in, page_csrf

HEADER = ["unit_id", "owner_id", "owner_name", "area_m2"]


def _count(rt, model):
    with rt.uow() as s:
        return s.scalar(select(func.count()).select_from(model))


def _error(r, status):
    assert r.status_code == status, r.text[:300]
    body = r.json()
    assert set(body) == {"code", "message", "message_zh", "details"}
    return body


@pytest.fixture
def small_limits(monkeypatch):
    """Limits small enough to probe quickly."""
    monkeypatch.setenv("HONGWU_MAX_BODY_BYTES", str(64 * 1024))
    monkeypatch.setenv("HONGWU_MAX_FIELD_CHARS", "1000")
    limits_mod.limits.cache_clear()
    yield limits_mod.limits()
    limits_mod.limits.cache_clear()


# --- JSON bodies ---------------------------------------------------------------------------

@pytest.mark.parametrize("raw, needle", [
    (b"[" * 100_000 + b"]" * 100_000, "嵌套"),
    (b'{"process_key": "sample_review", "compound_code": "PK-JP-XC-01", "data": ' + b'{"a":' * 40 + b"1" + b"}" * 41,
     "嵌套"),
    (b'{"process_key": "sample_review", "compound_code": "PK-JP-XC-01", "data": {"area": 1e999999999}}', "数字"),
    (b'{"process_key": "sample_review", "compound_code": "PK-JP-XC-01", "data": {"area": NaN}}', "数字"),
    (b'{"process_key": "sample_review", "compound_code": "PK-JP-XC-01", "data": {"n": "\\u0000"}}', "空字符"),
    (b'{"process_key": "sample_review\\u0000", "compound_code": "PK-JP-XC-01"}', "空字符"),
    (b'{"process_key": "sample_review", "compound_code": "PK-JP-XC-01", "data": {"n": 1' + b"0" * 5000 + b"}}", "数字"),
])
def test_hostile_json_is_422_and_opens_no_case(app, web_rt, raw, needle):
    c = api_client(app)
    before = _count(web_rt, Case)
    started = time.process_time()
    body = _error(c.post("/api/cases", content=raw, headers={"Content-Type": "application/json"}), 422)
    assert needle in body["message_zh"] and time.process_time() - started < 5
    assert _count(web_rt, Case) == before


def test_the_intake_endpoint_refuses_deep_json_too(app):
    r = TestClient(app).post("/api/mediation-cases", content=b"[" * 100_000 + b"]" * 100_000,
                             headers={"Content-Type": "application/json", "Authorization": "Bearer hw_x"})
    assert _error(r, 422)["code"] == "validation_failed"


def test_a_body_over_the_limit_is_413_before_anything_runs(app, web_rt, small_limits):
    c = api_client(app)
    big = json.dumps({"process_key": "sample_review", "compound_code": "PK-JP-XC-01",
                      "data": {"note": "字" * 40_000}}).encode()
    body = _error(c.post("/api/cases", content=big, headers={"Content-Type": "application/json"}), 413)
    assert body["code"] == "too_large" and "过大" in body["message_zh"]
    # Without a Content-Length (chunked), the count still stops it.
    body = _error(c.post("/api/cases", content=iter([big[:40_000], big[40_000:]]),
                         headers={"Content-Type": "application/json"}), 413)
    assert _count(web_rt, Case) == 0


def test_a_field_over_the_limit_is_422_through_api_web_form_and_service(app, web_rt, small_limits):
    c = api_client(app)
    long_note = "说" * 1001
    body = _error(c.post("/api/cases", json={"process_key": "sample_review", "compound_code": "PK-JP-XC-01",
                                             "data": {"note": long_note}}), 422)
    assert "1000" in body["message_zh"] and body["details"][0]["field"] == "data.note"
    w = logged_in(app, "street")
    r = w.post("/cases/new", data={"process": "web_forms", "compound": "PK-JP-XC-01", "title": long_note,
                                   "csrf_token": page_csrf(w)})
    assert r.status_code == 422 and "1000" in r.text
    from engine.runtime.actors import load_actor

    with web_rt.uow() as s:
        street = load_actor(s, "street")
    with pytest.raises(ValidationFailed):
        web_rt.start_case("sample_review", "PK-JP-XC-01", street, {"note": long_note})
    assert _count(web_rt, Case) == 0


def test_nul_in_a_web_form_is_refused(app, web_rt):
    w = logged_in(app, "street")
    r = w.post("/cases/new", data={"process": "web_forms", "compound": "PK-JP-XC-01", "title": "标题\x00",
                                   "csrf_token": page_csrf(w)})
    assert r.status_code == 422 and "空字符" in r.text
    # The second value of a repeated field counts as much as the first.
    r = w.post("/cases/new", data={"process": "web_forms", "compound": "PK-JP-XC-01", "tag": ["甲", "乙\x00"],
                                   "csrf_token": page_csrf(w)})
    assert r.status_code == 422 and "空字符" in r.text
    assert _count(web_rt, Case) == 0


def test_a_refused_submission_leaves_no_attachment(app, web_rt):
    from tests.web.test_pages import VALID, start_web_case

    c = logged_in(app, "street")
    url = start_web_case(c)
    events = _count(web_rt, AuditEvent)
    bad = dict(VALID, member_count="99")  # above the schema's maximum: the completion is refused
    r = c.post(url, data={"csrf_token": page_csrf(c), **bad},
               files={"roll": ("业主名册.csv", "房号,面积\n1-101,89.5\n".encode(), "text/csv")})
    assert r.status_code == 422
    assert _count(web_rt, Attachment) == 0 and _count(web_rt, AuditEvent) == events
    r = c.post(url, data={"csrf_token": page_csrf(c), **VALID},
               files={"roll": ("业主名册.csv", "房号,面积\n1-101,89.5\n".encode(), "text/csv")}, follow_redirects=False)
    assert r.status_code == 303 and _count(web_rt, Attachment) == 1


# --- owner rolls ---------------------------------------------------------------------------

def _xlsx(rows, extra_parts=()):
    from openpyxl import Workbook

    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    if not extra_parts:
        return buf.getvalue()
    out = io.BytesIO()
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            dst.writestr(item, src.read(item))
        for name, data in extra_parts:
            dst.writestr(name, data)
    return out.getvalue()


def _roll_problem(data, name):
    with pytest.raises(RollError) as err:
        parse_roll(data, name)
    return str(err.value)


def test_an_xlsx_bomb_is_refused_before_parsing(monkeypatch):
    monkeypatch.setattr(owner_roll, "MAX_XLSX_UNPACKED", 4 * 1024 * 1024)
    bomb = _xlsx([HEADER, ["1", "O1", "甲", "10"]], [("xl/sharedStrings2.xml", b"a" * (8 * 1024 * 1024))])
    assert len(bomb) < 100 * 1024  # a few KB of zip
    started = time.process_time()
    assert "解压后超过 4 MB" in _roll_problem(bomb, "roll.xlsx")
    assert time.process_time() - started < 2


def _zip_of(megabytes: int) -> bytes:
    """A deflated zip of `megabytes` MB of cell text: about 1 KB per MB."""
    part = zipfile.ZipInfo("xl/sharedStrings.xml")
    part.compress_type = zipfile.ZIP_DEFLATED
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        with z.open(part, "w", force_zip64=True) as f:
            chunk = b"<si><t>" + b"x" * (1 << 20) + b"</t></si>"
            for _ in range(megabytes):
                f.write(chunk)
    return out.getvalue()


def test_an_xlsx_unpacking_past_the_limit_is_refused_from_its_declared_sizes():
    data = _zip_of(80)  # past the default 64 MB
    assert len(data) < 200 * 1024
    started = time.process_time()
    assert "解压后超过 64 MB" in _roll_problem(data, "roll.xlsx")
    assert time.process_time() - started < 0.5


def test_an_xlsx_lying_about_its_sizes_is_stopped_at_the_declared_size():
    import struct

    data = bytearray(_zip_of(80))
    struct.pack_into("<I", data, 22, 1000)  # local header: uncompressed size
    central = data.rfind(b"PK\x01\x02")
    struct.pack_into("<Q", data, data.find(b"\x01\x00", central + 46) + 4, 1000)  # its zip64 extra field
    started = time.process_time()
    problem = _roll_problem(bytes(data), "roll.xlsx")
    assert "XLSX" in problem and time.process_time() - started < 2


def test_too_many_rows_are_refused(monkeypatch):
    monkeypatch.setattr(owner_roll, "MAX_ROWS", 10)
    csv_rows = "\n".join(",".join([str(i), f"O{i}", "甲", "10"]) for i in range(20))
    assert "行数超过 10 行" in _roll_problem((",".join(HEADER) + "\n" + csv_rows).encode(), "r.csv")
    xlsx = _xlsx([HEADER] + [[str(i), f"O{i}", "甲", "10"] for i in range(20)])
    assert "行数超过 10 行" in _roll_problem(xlsx, "r.xlsx")


@pytest.mark.parametrize("area, needle", [
    ("1e999999999", "普通小数"), ("1e-999999999", "普通小数"), ("1E3", "普通小数"), ("NaN", "普通小数"),
    ("Infinity", "普通小数"), ("-5", "大于零"), ("0", "大于零"), ("0.000", "大于零"), ("0x10", "不是数字"),
    ("1234567890", "普通小数"), ("1.1234567", "普通小数"), ("abc", "不是数字"),
])
def test_areas_must_be_plain_positive_decimals(area, needle):
    text = ",".join(HEADER) + f"\n1,O1,甲,{area}\n"
    assert needle in _roll_problem(text.encode(), "r.csv")


def test_plain_decimals_with_thousands_separators_still_read():
    roll = parse_roll(f'{",".join(HEADER)}\n1,O1,甲,"1,089.50"\n2,O2,乙,0.5\n'.encode(), "r.csv")
    assert str(roll.total_area) == "1090.00"


def test_an_xlsx_area_written_as_a_float_in_exponent_form_is_refused():
    xlsx = _xlsx([HEADER, ["1", "O1", "甲", 1e-7]])
    assert "普通小数" in _roll_problem(xlsx, "r.xlsx")


@pytest.mark.parametrize("size", [60_000, 2 * 1024 * 1024])
def test_a_huge_note_in_a_multipart_task_form_is_refused_not_stored(app, web_rt, size):
    from tests.web.test_pages import VALID, start_web_case

    c = logged_in(app, "street")
    url = start_web_case(c)
    with web_rt.uow() as s:
        state_before = s.scalar(select(func.max(func.length(Case.state))))
    r = c.post(url, data={"csrf_token": page_csrf(c), **dict(VALID, notes="记" * size)},
               files={"roll": ("名册.csv", "房号,面积\n1-101,89.5\n".encode(), "text/csv")})
    assert r.status_code == (422 if size < 1024 * 1024 else 413) and "text/html" in r.headers["content-type"]
    assert "超过" in r.text
    with web_rt.uow() as s:
        assert s.scalar(select(func.max(func.length(Case.state)))) == state_before
    assert _count(web_rt, Attachment) == 0


@pytest.mark.parametrize("data, needle", [
    ("[" * 100_000 + "]" * 100_000, "嵌套"), ('{"a": 1e999999}', "数字"), ('{"a": "x\\u0000"}', "空字符"),
    ('{"a": ', "不是有效的 JSON"),
])
def test_the_cli_applies_the_same_json_limits(cli, tmp_path, data, needle):
    f = tmp_path / "data.json"
    f.write_text(data, encoding="utf-8")
    res = cli("case", "start", "sample_review", "--compound", "PK-JP-XC-01", "--data", f"@{f}", "--as", "street", code=2)
    assert needle in res.output


def test_the_cli_refuses_a_non_utf8_data_file(cli, tmp_path):
    f = tmp_path / "data.json"
    f.write_bytes('{"a": "名册"}'.encode("gbk"))
    assert "UTF-8" in cli("case", "start", "sample_review", "--compound", "PK-JP-XC-01", "--data", f"@{f}",
                          "--as", "street", code=2).output
