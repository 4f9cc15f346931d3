"""Task forms of the bundled processes through the web UI: fields follow the path taken, choices
are picked from lists in Chinese, files upload (and a refused form keeps none), and review steps
show what is to be reviewed."""
from __future__ import annotations

import hashlib
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from engine.config import BUNDLED_BPMN_DIR, BUNDLED_FORMS_DIR
from engine.db.models import Attachment, Case
from engine.runtime.actors import load_actor
from engine.runtime.service import deploy
from tests.web.support import csrf_of, logged_in, page_csrf

COMPOUND = "PK-JP-XC-01"


@pytest.fixture
def bundled(web_rt):
    deploy(web_rt, [BUNDLED_BPMN_DIR / f for f in ("tiered_mediation.bpmn", "prior_review.bpmn",
                                                    "committee_election.bpmn")], BUNDLED_FORMS_DIR)
    return web_rt


def start(client: TestClient, process: str) -> str:
    r = client.post("/cases/new", data={"process": process, "compound": COMPOUND, "csrf_token": page_csrf(client)},
                    follow_redirects=False)
    assert r.status_code == 303, r.text[:400]
    return r.headers["location"]


def submit(client: TestClient, url: str, data: dict, files=None, status: int = 303):
    page = client.get(url)
    assert page.status_code == 200, page.text[:300]
    form = {"csrf_token": csrf_of(page.text), **hidden_fields(page.text), **data}
    r = client.post(url, data=form, files=files, follow_redirects=False)
    assert r.status_code == status, _errors(r.text)
    return r


def hidden_fields(html: str) -> dict:
    """The hidden inputs a browser would send back (version, fixed rows' keys, …)."""
    return {m.group(1): m.group(2) for m in re.finditer(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html)
            if m.group(1) != "csrf_token"}


def visible(html: str) -> str:
    """The text a person sees (no tags, attributes or scripts)."""
    return re.sub(r"<[^>]+>", " ", re.sub(r"<(script|template)\b.*?</\1>", " ", html, flags=re.S))


def no_codes(html: str) -> None:
    """A task page shows no identifier-looking English (snake_case codes) to the person."""
    leaks = re.findall(r"\b[a-z]+(?:_[a-z0-9]+)+\b", visible(html))
    assert not leaks, leaks


def _errors(html: str) -> str:
    found = re.findall(r"class=\"field-error\"[^>]*>([^<]*)<", html) + re.findall(r"<ul class=\"errors\">(.*?)</ul>", html, re.S)
    return " | ".join(found) or html[:600]


def task_url(rt, user: str, case_number: str, name: str) -> str:
    with rt.uow() as s:
        actor = load_actor(s, user)
    found = [t for t in rt.list_tasks(actor, limit=500) if t.case_number == case_number and t.name.endswith(name)]
    assert found, (user, name, [t["name"] for t in rt.get_case(case_number, actor).tasks])
    return f"/tasks/{found[0].id}"


def case_of(url_after: str) -> str:
    return url_after.split("/cases/")[1].split("?")[0]


INTAKE = {"source": "walk_in", "category": "fees",
          "parties.0.kind": "owner", "parties.0.side": "applicant", "parties.0.name": "张建国",
          "parties.0.phone": "13800000001", "parties.0.address": "3栋201室",
          "parties.1.kind": "property_company", "parties.1.side": "respondent",
          "parties.1.name": "南京明发物业服务有限公司", "parties.1.phone": "025-58000000",
          "facts": "业主认为物业服务费上调未经业主大会决定，拒绝按新标准缴费。", "claims": "按原标准收费并恢复门禁"}


def open_mediation(client, rt) -> str:
    r = submit(client, start(client, "tiered_mediation"), INTAKE)
    cn = case_of(r.headers["location"])
    submit(client, task_url(rt, "community", cn, "review"),
           {"accepted": "true", "start_level": "community", "mediation_place": "新城社区调解室",
            "not_accepted_reason": "（切换前填写的内容）"})
    return cn


def failed_session(reason: str) -> dict:
    return {"session_date": "2026-11-21", "session_attendees": "张建国\n王经理", "session_summary": "双方各执己见。",
            "outcome": "failed", "failure_reason": reason, "terms": "", "agreement_facts": ""}


def test_mediation_escalates_without_an_agreement(bundled, clock):
    rt = bundled
    community = logged_in(create_app_for(rt, clock), "community")
    cn = open_mediation(community, rt)
    case = rt.get_case(cn, load_actor_of(rt, "street"))
    assert "not_accepted_reason" not in case.data  # typed on the path not taken: not kept

    # The assigner picks a mediator from the users holding the role over the case, in Chinese.
    url = task_url(rt, "community", cn, "community_assign")
    page = community.get(url).text
    assert '<select id="f-mediator_name"' in page and "李社区（" in page and "赵社区" not in page
    assert "张建国" in page and "按原标准收费并恢复门禁" in page  # the dispute panel: parties and claims
    no_codes(page)
    bad = submit(community, url, {"mediator_name": "钱调解", "mediator_phone": "13900000000"}, status=422)
    assert "请从列表中选择" in bad.text
    submit(community, url, {"mediator_name": "李社区", "mediator_phone": "13900000000"})

    # The session form: agreement fields hidden unless 达成调解协议 is chosen; 调解不成 needs none of them.
    url = task_url(rt, "community", cn, "community_mediate")
    page = community.get(url).text
    terms = re.search(r'<fieldset class="repeat[^"]*" data-field="terms"|<div class="form-field[^"]*" data-field="terms"([^>]*)>', page)
    assert terms and "data-when" in terms.group(0) and "data-inapplicable" in terms.group(0)
    assert "仅当「本次结果」为「达成调解协议」时填写" in page
    no_codes(page)
    assert "fails" not in page and ">continue<" not in page and "继续调解" in page
    missing = submit(community, url, {**failed_session(""), "failure_reason": ""}, status=422)
    assert "「调解不成的原因」为必填项" in missing.text and "协议内容" not in _errors(missing.text)
    submit(community, url, failed_session("物业公司坚持按新标准收费。"))

    street = logged_in(create_app_for(rt, clock), "street")
    url = task_url(rt, "street", cn, "street_assign")
    page = street.get(url).text
    assert "社区（一级）调解记录" in page and "物业公司坚持按新标准收费。" in page and "调解不成" in page
    submit(street, url, {"mediator_name": "王街道", "mediator_phone": "13900000001"})
    submit(street, task_url(rt, "street", cn, "street_mediate"), failed_session("双方仍无法达成一致。"))

    district = logged_in(create_app_for(rt, clock), "mediator")
    url = task_url(rt, "mediator", cn, "district_assign")
    assert "街道（二级）调解记录" in district.get(url).text
    submit(district, url, {"mediator_name": "孙调解员", "mediator_phone": "13900000002"})
    submit(district, task_url(rt, "mediator", cn, "district_mediate"), failed_session("仍无法达成一致。"))
    view = rt.get_case(cn, load_actor_of(rt, "street"))
    assert view.summary["level_results"] == {"community": "failed", "street": "failed", "district": "failed"}
    assert view.summary.get("outcome") == "referred"


def test_prior_review_submission_with_uploaded_documents(bundled, clock):
    rt = bundled
    community = logged_in(create_app_for(rt, clock), "community")
    url = start(community, "prior_review")
    page = community.get(url).text
    # The matter is picked from the street's catalogue, in Chinese; the submitter kind too.
    assert '<select id="f-matter_code"' in page and "6. 大额使用专项维修资金（紧急情况除外）" in page
    assert "owners_committee" not in visible(page)
    assert '<input id="f-attachments" type="file" name="attachments" multiple>' in page
    no_codes(page)
    files = [("attachments", ("维修方案.txt", "电梯更换方案".encode(), "text/plain")),
             ("attachments", ("预算.csv", "项目,金额\n电梯,380000\n".encode(), "text/csv"))]
    data = {"title": "关于使用专项维修资金更换电梯的议案", "matter_code": "fund_use", "submitter_kind": "owners_committee",
            "submitter_name": "明发滨江新城小区业主委员会", "description": "", "amount": "380000"}

    def attachments() -> int:
        with rt.uow() as s:
            return s.scalar(select(func.count()).select_from(Attachment))

    before = attachments()
    refused = submit(community, url, data, files=files, status=422)  # no description: nothing kept
    assert "「事项说明」" in refused.text and "本次选择的文件未保存" in refused.text
    assert attachments() == before
    r = submit(community, url, {**data, "description": "3栋电梯使用已满20年，拟整体更换。"}, files=files)
    cn = case_of(r.headers["location"])
    with rt.uow() as s:
        stored = s.execute(select(Attachment.filename, Attachment.sha256).join(Case, Case.id == Attachment.case_id)
                           .where(Case.case_number == cn).order_by(Attachment.id)).all()
    assert [f for f, _ in stored] == ["维修方案.txt", "预算.csv"]
    assert stored[0][1] == hashlib.sha256("电梯更换方案".encode()).hexdigest()
    case_page = community.get(f"/cases/{cn}").text
    assert "维修方案.txt" in case_page and "预算.csv" in case_page

    # The branch review shows the matter, its Art. 278 item, threshold and documents; outcomes in Chinese.
    branch = logged_in(create_app_for(rt, clock), "branch")
    page = branch.get(task_url(rt, "branch", cn, "branch_review")).text
    assert "第5项：使用建筑物及其附属设施的维修资金" in page and "维修方案.txt" in page
    assert "修改后同意（退回提交方修改）" in page and "agree_with_changes" not in visible(page)
    assert "仅当「先议结论」为「修改后同意（退回提交方修改）」时填写" in page
    no_codes(page)


def test_unlisted_matter_needs_its_name_only_on_that_path(bundled, clock):
    rt = bundled
    community = logged_in(create_app_for(rt, clock), "community")
    url = start(community, "prior_review")
    data = {"title": "关于小区绿化改造的议案", "matter_code": "unlisted", "submitter_kind": "community",
            "submitter_name": "新城社区居委会", "description": "拟对中心绿地进行改造。"}
    refused = submit(community, url, data, status=422)
    assert "「事项名称（不属于先议事项目录时）」为必填项" in refused.text
    assert "「所属民法典第二百七十八条项次」为必填项" in refused.text  # the branch confirms by it
    r = submit(community, url, {**data, "unlisted_name": "绿化改造", "unlisted_art278_item": "9"})
    assert r.headers["location"].startswith("/cases/")


def create_app_for(rt, clock):
    from engine.web.app import create_app

    return create_app(rt.settings, clock)


def load_actor_of(rt, user: str):
    with rt.uow() as s:
        return load_actor(s, user)


def test_party_reviews_see_the_candidate_sheet_and_decide_per_candidate(bundled, clock):
    from engine import demo
    from tests.committee.conftest import CANDIDATES, Election, candidate

    rt = bundled
    with rt.uow() as s:
        actors = {u[0]: load_actor(s, u[0]) for u in demo.USERS}
    e = Election(rt, actors)
    e.start(seats=5)
    # C8 admits a negative-list fact: screened out before review. Three of six remaining are party members.
    cands = [candidate(*c) for c in CANDIDATES[:2]] + [candidate(*c) for c in CANDIDATES[4:8]]
    cands[-1]["facts"] = {"illegal_construction": True}
    cands[0]["party_member"] = False
    e.nominate(cands)

    cparty = logged_in(create_app_for(rt, clock), "cparty")
    url = task_url(rt, "cparty", e.case_number, "community_review")
    page = cparty.get(url).text
    text = visible(page)
    assert "本次审查的候选人（5 名）" in text and "C2 王芳" in text and "未命中负面清单情形" in text
    assert "因负面清单已排除（1 名" in text and "在小区内违法搭建" in text
    assert "2/5" in text and "未过半数" in text  # the party-member share and its warning
    no_codes(page)
    # One verdict row per listed candidate, the candidate fixed (no typed ids, no rows to add).
    assert len(re.findall(r'name="community_decisions\.\d+\.candidate_id" value="C\d"', page)) == 5
    assert 'value="add:community_decisions"' not in page
    verdicts = {f"community_decisions.{i}.approve": "true" for i in range(5)}
    refused = submit(cparty, url, {**verdicts, "community_decisions.4.approve": "false"}, status=422)
    assert "理由" in _errors(refused.text)
    submit(cparty, url, {**verdicts, "community_decisions.4.approve": "false",
                         "community_decisions.4.reason": "群众反映较多"})

    sparty = logged_in(create_app_for(rt, clock), "sparty")
    page = sparty.get(task_url(rt, "sparty", e.case_number, "street_review")).text
    text = visible(page)
    assert "社区党组织意见" in text and "不同意（群众反映较多）" in text
    assert "已通过审查及社区党组织同意的候选人" in text and "1/4" in text


def test_the_same_rules_hold_outside_the_web_form(bundled, clock):
    """Through the service layer (what the API and CLI call): a mediator outside the list, a file
    of another case, or a pending upload of a refused form are all refused and leave nothing."""
    from engine.attachments import PendingUpload, reference, store_attachment
    from engine.runtime.errors import ValidationFailed

    rt = bundled
    community = load_actor_of(rt, "community")
    client = logged_in(create_app_for(rt, clock), "community")
    cn = open_mediation(client, rt)
    other = open_mediation(client, rt)
    assign = task_url(rt, "community", cn, "community_assign").rsplit("/", 1)[1]
    with pytest.raises(ValidationFailed) as err:
        rt.complete_task(assign, community, {"mediator_name": "赵社区", "mediator_phone": "13900000000"})
    assert "请从列表中选择" in err.value.message_zh  # 赵社区 serves another community
    rt.complete_task(assign, community, {"mediator_name": "李社区", "mediator_phone": "13900000000"})
    rt.complete_task(task_url(rt, "community", cn, "community_mediate").rsplit("/", 1)[1], community, {
        "session_date": "2026-11-21", "session_attendees": ["张建国"], "session_summary": "达成一致。", "outcome": "settled",
        "agreement_facts": "事实清楚", "disputed_matters": "收费标准", "responsibilities": "双方各半",
        "terms": ["按原标准收费"], "performance_manner": "转账", "performance_deadline": "2026-12-31"})
    sign = task_url(rt, "community", cn, "community_sign").rsplit("/", 1)[1]
    with rt.uow() as s:
        other_id = s.scalar(select(Case.id).where(Case.case_number == other))
        foreign = reference(store_attachment(s, filename="别案.pdf", content=b"%PDF-1.4 other", actor="community",
                                             now=rt.now(), case_id=other_id))
    signed = {"signed_on": "2026-11-21", "mediator_signed": True, "committee_sealed": True,
              "party_signatures": [{"name": "张建国", "signed": True, "method": "signature"},
                                   {"name": "南京明发物业服务有限公司", "signed": True, "method": "seal"}]}
    with pytest.raises(ValidationFailed) as err:
        rt.complete_task(sign, community, {**signed, "signed_copy": foreign})
    assert "不是本案件的文件" in err.value.message_zh

    def count() -> int:
        with rt.uow() as s:
            return s.scalar(select(func.count()).select_from(Attachment))

    before = count()
    upload = {"u0": PendingUpload("协议书.pdf", b"%PDF-1.4 signed")}
    with pytest.raises(ValidationFailed):  # a signer who is not a party: refused, the upload with it
        rt.complete_task(sign, community, {**signed, "party_signatures": [{"name": "路人", "signed": True,
                                                                           "method": "signature"}],
                                           "signed_copy": {PendingUpload.MARK: "u0"}}, None, upload)
    assert count() == before
    view = rt.complete_task(sign, community, {**signed, "signed_copy": {PendingUpload.MARK: "u0"}}, None, upload)
    assert count() == before + 1
    assert view.data["signed_copy"]["sha256"] == hashlib.sha256(b"%PDF-1.4 signed").hexdigest()


def test_the_case_page_shows_the_parties_and_the_matter(bundled, clock):
    rt = bundled
    client = logged_in(create_app_for(rt, clock), "community")
    cn = open_mediation(client, rt)
    text = visible(client.get(f"/cases/{cn}").text)
    assert "案件概况" in text and "南京明发物业服务有限公司" in text and "被申请人" in text
    assert "按原标准收费并恢复门禁" in text
    url = start(client, "prior_review")
    r = submit(client, url, {"title": "关于续聘物业服务企业的议案", "matter_code": "property_company",
                             "submitter_kind": "owners_committee", "submitter_name": "业主委员会",
                             "description": "现合同将于2027年1月到期。"})
    text = visible(client.get(r.headers["location"]).text)
    subject = text.split("案件概况", 1)[1].split("当前步骤", 1)[0]
    assert "第4项：选聘和解聘物业服务企业或者其他管理人" in subject, subject
    assert "property_company" not in subject and "owners_committee" not in subject
