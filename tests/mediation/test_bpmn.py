"""The diagram: every element has diagram interchange, lanes map to roles, the BPMN deploys."""
from __future__ import annotations

from lxml import etree

from engine.runtime.definitions import parse_bundle
from engine.runtime.deploy import prepare
from tests.mediation.support import BPMN, FORMS

NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL", "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI"}
NODE_TAGS = ("startEvent", "endEvent", "userTask", "serviceTask", "exclusiveGateway", "parallelGateway", "subProcess",
             "boundaryEvent", "intermediateCatchEvent", "sequenceFlow", "lane", "participant")


def test_every_element_has_diagram_interchange():
    root = etree.parse(str(BPMN)).getroot()
    elements = {el.get("id") for tag in NODE_TAGS for el in root.iter(f"{{{NS['bpmn']}}}{tag}")}
    drawn = [el.get("bpmnElement") for el in root.xpath("//bpmndi:BPMNShape | //bpmndi:BPMNEdge", namespaces=NS)]
    assert len(drawn) == len(set(drawn)), "an element is drawn twice"
    assert elements == set(drawn)
    planes = {p.get("bpmnElement") for p in root.xpath("//bpmndi:BPMNPlane", namespaces=NS)}
    # The main pool plus one drill-down plane per (collapsed) level sub-process.
    assert planes == {"Collab_tiered_mediation", "level_community", "level_street", "level_district"}


def test_lanes_and_forms():
    bundles = prepare([BPMN], FORMS)
    assert [b.key for b in bundles] == ["tiered_mediation"]  # the level sub-processes are not startable
    loaded = parse_bundle(bundles[0])
    roles = {name: t.role for name, t in loaded.human_tasks.items()}
    assert roles == {
        "register": "community_staff", "review": "community_staff", "follow_up": "community_staff",
        "community_assign": "community_staff", "community_mediate": "community_staff", "community_sign": "community_staff",
        "street_assign": "street_staff", "street_mediate": "street_staff", "street_sign": "street_staff",
        "district_assign": "district_mediator", "district_mediate": "district_mediator",
        "district_sign": "district_mediator",
    }
    lanes = {t.lane for t in loaded.human_tasks.values()}
    assert lanes == {"受理窗口", "社区调解员", "街道调解员", "区住房综合服务中心"}
