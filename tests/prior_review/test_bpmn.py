"""The diagram: complete diagram interchange, lanes mapped to roles, a form for every user task,
and the review guard on every step that records a decision."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from lxml import etree

from engine.runtime.definitions import parse_bundle, validate
from engine.runtime.deploy import prepare
from tests.prior_review.support import BPMN, FORMS, ROOT

NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL", "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI"}
TAGS = ("startEvent", "endEvent", "userTask", "serviceTask", "exclusiveGateway", "boundaryEvent",
        "intermediateCatchEvent", "sequenceFlow", "lane", "participant")


def test_every_element_has_diagram_interchange():
    root = etree.parse(str(BPMN)).getroot()
    elements = {el.get("id") for tag in TAGS for el in root.iter(f"{{{NS['bpmn']}}}{tag}")}
    drawn = [el.get("bpmnElement") for el in root.xpath("//bpmndi:BPMNShape | //bpmndi:BPMNEdge", namespaces=NS)]
    assert len(drawn) == len(set(drawn))
    assert elements == set(drawn)


def test_lanes_forms_and_guards():
    bundles = prepare([BPMN], FORMS)
    assert [b.key for b in bundles] == ["prior_review"]
    loaded = parse_bundle(bundles[0])
    validate(loaded)
    roles = {name: t.role for name, t in loaded.human_tasks.items()}
    assert roles == {"submit": "community_staff", "revise": "community_staff",
                     "branch_review": "party_branch_secretary",
                     "confirm_classification": "party_branch_secretary", "supervise": "community_party_org",
                     "coordinate": "community_party_org", "committee_decision": "community_staff",
                     "arrange_vote": "community_staff", "count_votes": "community_staff",
                     "execution": "community_staff"}
    assert all(t.form for t in loaded.human_tasks.values())
    guards = {n: t.properties.get("completionGuard") for n, t in loaded.human_tasks.items()}
    assert guards["committee_decision"] == guards["count_votes"] == guards["execution"] == "prior_review.require_review"
    assert guards["arrange_vote"] == "prior_review.check_vote_plan"
    assert guards["submit"] == guards["revise"] == "prior_review.check_submission"
    assert guards["branch_review"] is None
    assert guards["confirm_classification"] == "prior_review.check_classification"


def test_every_form_refuses_unknown_fields():
    import json

    for path in sorted((FORMS / "prior_review").glob("*.schema.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        assert schema["additionalProperties"] is False, path.name
        assert schema["title"]


@pytest.mark.skipif(shutil.which("node") is None or not (ROOT / "node_modules" / "bpmn-moddle").is_dir(),
                    reason="node and bpmn-moddle (npm) are needed to read the diagram as bpmn.io does")
def test_bpmn_io_reads_the_diagram_without_warnings(tmp_path: Path):
    script = tmp_path / "check.mjs"
    script.write_text(
        f"import {{ BpmnModdle }} from '{ROOT / 'node_modules/bpmn-moddle/dist/index.js'}';\n"
        "import fs from 'fs';\n"
        "const {warnings} = await new BpmnModdle().fromXML(fs.readFileSync(process.argv[2], 'utf8'));\n"
        "console.log(JSON.stringify(warnings.map(w => w.message)));\n", encoding="utf-8")
    out = subprocess.run(["node", str(script), str(BPMN)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
