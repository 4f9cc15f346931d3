"""Adding a process = a BPMN file, its form and one Python package (tests/sample_process/), with
no edit under engine/: the package is registered, deployed, started and completed through the
service layer, and shows on the inbox and the case page in Chinese."""
from __future__ import annotations

import pytest

from engine.runtime import registry
from engine.runtime.actors import load_actor
from engine.runtime.errors import Forbidden, ValidationFailed
from engine.runtime.service import deploy
from tests.web.support import logged_in, page_csrf

PACKAGE = "tests.sample_process"


@pytest.fixture
def sample(web_rt):
    registry.add_package(PACKAGE)
    from tests import sample_process

    deploy(web_rt, [sample_process.BPMN], sample_process.FORMS)
    yield web_rt
    registry.remove_package(PACKAGE)


def _actor(rt, username):
    with rt.uow() as s:
        return load_actor(s, username)


def test_the_registry_knows_the_sample_from_its_descriptor_only(sample):
    d = registry.get("sample_repair")
    assert d is not None and d.title == "公共维修登记"
    assert registry.case_prefix("sample_repair") == "WX"
    assert registry.starters("sample_repair") == {"community_staff"}
    from engine.web.labels import PROCESS_ZH, key_zh

    assert PROCESS_ZH["sample_repair"] == "公共维修登记" and key_zh("repair_item") == "维修事项"


def test_started_and_completed_through_the_service_layer(sample):
    rt = sample
    community, street = _actor(rt, "community"), _actor(rt, "street")
    with pytest.raises(Forbidden):  # the descriptor says who may start it
        rt.start_case("sample_repair", "PK-JP-XC-01", street, {})
    case = rt.start_case("sample_repair", "PK-JP-XC-01", community, {})
    assert case.case_number.startswith("WX-")
    [task] = case.tasks
    with pytest.raises(ValidationFailed):  # its form is checked like any other
        rt.complete_task(task["id"], community, {"repair_item": "", "urgency": "urgent"})
    done = rt.complete_task(task["id"], community, {"repair_item": "3栋电梯门不能关闭", "urgency": "urgent"})
    assert done.status == "completed"
    summary = rt.get_case(case.case_number, community).summary
    assert summary["repair_item"] == "3栋电梯门不能关闭" and summary["urgency"] == "urgent"


def test_shown_on_the_inbox_and_the_case_page(sample, app):
    c = logged_in(app, "community")
    r = c.post("/cases/new", data={"process": "sample_repair", "compound": "PK-JP-XC-01",
                                   "csrf_token": page_csrf(c)}, follow_redirects=False)
    assert r.status_code == 303, r.text[:400]
    inbox = c.get("/inbox").text
    assert "公共维修登记" in inbox and "登记维修事项" in inbox
    task_url = r.headers["location"]
    page = c.get(task_url)
    assert page.status_code == 200 and "维修事项" in page.text and "紧急" in page.text
    r = c.post(task_url, data={"repair_item": "2栋屋面渗水", "urgency": "normal", "csrf_token": page_csrf(c)},
               follow_redirects=False)
    assert r.status_code == 303, r.text[:600]
    case_url = r.headers["location"]
    assert case_url.startswith("/cases/WX-")
    case_page = c.get(case_url).text
    for text in ("公共维修登记", "维修事项", "2栋屋面渗水", "紧急程度", "一般", "已办结"):
        assert text in case_page, text


def test_gone_again_when_removed(web_rt):
    registry.add_package(PACKAGE)
    registry.remove_package(PACKAGE)
    assert registry.get("sample_repair") is None
    assert [d.key for d in registry.descriptors()] == ["committee_election", "prior_review", "tiered_mediation"]
