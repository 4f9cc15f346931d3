"""The roll and ballot templates: Chinese headings the importers read, offered next to the file
inputs of the roll and ballot steps; the English headings keep working."""
from __future__ import annotations

import io
from decimal import Decimal

from openpyxl import load_workbook

from engine.domain.owner_roll import parse_roll
from engine.domain.tally import parse_ballots
from tests.web.support import logged_in


def _filled_xlsx(content: bytes, rows: list[list]) -> bytes:
    wb = load_workbook(io.BytesIO(content))
    ws = wb.worksheets[0]
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_roll_template_has_chinese_headings_and_imports(app):
    c = logged_in(app, "street")
    x = c.get("/templates/roll.xlsx")
    assert x.status_code == 200 and "spreadsheetml" in x.headers["content-type"]
    wb = load_workbook(io.BytesIO(x.content))
    assert [cell.value for cell in wb.worksheets[0][1]] == ["房号", "业主编号", "业主姓名", "专有部分面积（㎡）", "楼栋", "居民身份证号码"]
    assert wb.sheetnames == ["填写表", "填写说明"]
    roll = parse_roll(_filled_xlsx(x.content, [["1-101", "O1", "张伟", 89.5, "1"], ["1-102", "O1", "张伟", 60, "1"],
                                               ["2-101", "O2", "王芳", "120.25", "2", "11010519491231002x"]]),
                      "名册.xlsx")
    assert roll.total_owners == 2 and roll.total_area == Decimal("269.75")
    assert roll.owners["O2"].id_number == "11010519491231002X" and roll.owners["O1"].id_number == ""

    csv_ = c.get("/templates/roll.csv")
    assert csv_.content.decode("utf-8-sig").strip() == "房号,业主编号,业主姓名,专有部分面积（㎡）,楼栋,居民身份证号码"
    roll = parse_roll(csv_.content + "1-101,O1,张伟,89.50,1\n".encode(), "名册.csv")
    assert roll.total_owners == 1
    english = parse_roll(b"unit_id,owner_id,owner_name,area_m2,building\n1-101,O1,Zhang,89.50,1\n", "roll.csv")
    assert english.total_area == Decimal("89.50")


def test_ballot_templates_import_against_the_roll(app):
    c = logged_in(app, "street")
    roll = parse_roll("房号,业主编号,业主姓名,专有部分面积（㎡）\n1-101,O1,张伟,89.50\n".encode(), "r.csv")
    for name, item in (("ballots", "C1"), ("vote_sheet", "续聘物业服务企业")):
        sheet = c.get(f"/templates/{name}.csv").content + f"O1,{item},同意\n".encode()
        ballots = parse_ballots(sheet, f"{name}.csv", roll)
        assert [(b.owner_id, b.item) for b in ballots] == [("O1", item)]
        x = c.get(f"/templates/{name}.xlsx").content
        assert len(parse_ballots(_filled_xlsx(x, [["O1", item, "反对"]]), f"{name}.xlsx", roll)) == 1
    assert c.get("/templates/nothing.xlsx").status_code == 404
    assert c.get("/templates/roll.exe").status_code == 404


def test_roll_step_offers_the_templates_and_names_the_columns(app, web_rt):
    from engine import demo
    from engine.config import BUNDLED_BPMN_DIR, BUNDLED_FORMS_DIR
    from engine.runtime.actors import load_actor
    from engine.runtime.service import deploy

    deploy(web_rt, [BUNDLED_BPMN_DIR / "committee_election.bpmn"], BUNDLED_FORMS_DIR)
    with web_rt.uow() as s:
        street = load_actor(s, "street")
    cn = web_rt.start_case("committee_election", "PK-JP-XC-01", street, {}).case_number

    def task(name):
        return next(t.id for t in web_rt.list_tasks(street) if t.case_number == cn and t.name == name)

    web_rt.complete_task(task("open_case"), street, {"case": {"election_kind": "first", "seats": 5, "term_years": 5}})
    web_rt.complete_task(task("form_group"), street, {"group": {"members": [
        {"name": "王街道", "kind": "street", "position": "组长"}, {"name": "张伟", "kind": "owner", "position": "成员"},
        {"name": "李娜", "kind": "owner", "position": "成员"}]}})
    page = logged_in(app, "street").get(f"/tasks/{task('confirm_roll')}").text
    assert 'href="/templates/roll.xlsx"' in page and 'href="/templates/roll.csv"' in page
    assert "房号、业主编号、业主姓名、专有部分面积（㎡），可选 楼栋" in page and "unit_id" not in page
    assert demo.DEMO_PASSWORD not in page
    # A roll with problems is refused line by line and not kept; the filled-in template is taken.
    from sqlalchemy import func, select

    from engine.db.models import Attachment
    from tests.web.test_task_paths import _errors, submit

    client = logged_in(app, "street")
    url = f"/tasks/{task('confirm_roll')}"

    def kept() -> int:
        with web_rt.uow() as s:
            return s.scalar(select(func.count()).select_from(Attachment))

    bad = "房号,业主编号,业主姓名,专有部分面积（㎡）\n1-101,O1,张伟,-3\n".encode()
    r = submit(client, url, {"roll.inspection_place": "物业服务中心"},
               files=[("roll.file", ("名册.csv", bad, "text/csv"))], status=422)
    assert "名册.csv:2：专有部分面积必须大于零" in _errors(r.text)
    assert kept() == 0
    good = client.get("/templates/roll.csv").content + "1-101,O1,张伟,89.50,1\n1-102,O2,王芳,60,1\n".encode()
    submit(client, url, {"roll.inspection_place": "物业服务中心"}, files=[("roll.file", ("名册.csv", good, "text/csv"))])
    assert kept() == 1
