"""A generated 25-step process for the engine benchmark: user tasks in a line, each with a form,
a gateway and a script every fifth step, so the path exercises the restricted script engine too."""
from __future__ import annotations

import json
from pathlib import Path

STEPS = 25


def write_chain_process(root: Path, steps: int = STEPS) -> tuple[Path, Path]:
    bpmn_dir, forms_dir = root / "bpmn", root / "forms"
    (forms_dir / "bench").mkdir(parents=True, exist_ok=True)
    bpmn_dir.mkdir(parents=True, exist_ok=True)
    schema = {"type": "object", "required": ["ok"], "properties": {
        "ok": {"type": "boolean", "title": "同意"}, "note": {"type": "string", "title": "备注", "maxLength": 200}}}
    (forms_dir / "bench" / "step.schema.json").write_text(json.dumps(schema), encoding="utf-8")
    nodes, flows, shapes, edges = [], [], [], []
    prev, x = "start", 150
    shapes.append(f'<bpmndi:BPMNShape id="start_di" bpmnElement="start"><dc:Bounds x="{x}" y="100" width="36" height="36"/></bpmndi:BPMNShape>')
    for i in range(1, steps + 1):
        tid = f"step{i}"
        nodes.append(
            f'<bpmn:userTask id="{tid}" name="第{i}步"><bpmn:extensionElements><spiffworkflow:properties>'
            f'<spiffworkflow:property name="formJsonSchemaFilename" value="bench/step.schema.json"/>'
            f'</spiffworkflow:properties></bpmn:extensionElements></bpmn:userTask>')
        flows.append((prev, tid))
        x += 120
        shapes.append(f'<bpmndi:BPMNShape id="{tid}_di" bpmnElement="{tid}"><dc:Bounds x="{x}" y="78" width="100" height="80"/></bpmndi:BPMNShape>')
        prev = tid
        if i % 5 == 0:
            sid = f"count{i}"
            nodes.append(f'<bpmn:scriptTask id="{sid}" name="计数{i}"><bpmn:script>done_steps = {i}\nall_ok = ok and done_steps &gt; 0</bpmn:script></bpmn:scriptTask>')
            flows.append((prev, sid))
            x += 120
            shapes.append(f'<bpmndi:BPMNShape id="{sid}_di" bpmnElement="{sid}"><dc:Bounds x="{x}" y="78" width="100" height="80"/></bpmndi:BPMNShape>')
            prev = sid
    flows.append((prev, "end"))
    x += 120
    shapes.append(f'<bpmndi:BPMNShape id="end_di" bpmnElement="end"><dc:Bounds x="{x}" y="100" width="36" height="36"/></bpmndi:BPMNShape>')
    flow_xml = []
    for n, (a, b) in enumerate(flows):
        flow_xml.append(f'<bpmn:sequenceFlow id="f{n}" sourceRef="{a}" targetRef="{b}"/>')
        edges.append(f'<bpmndi:BPMNEdge id="f{n}_di" bpmnElement="f{n}"><di:waypoint x="0" y="118"/><di:waypoint x="1" y="118"/></bpmndi:BPMNEdge>')
    xml = f'''<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI"
 xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" xmlns:di="http://www.omg.org/spec/DD/20100524/DI"
 xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="Defs_bench" targetNamespace="http://hongwu.example/bench">
 <bpmn:collaboration id="Collab_bench"><bpmn:participant id="P_bench" processRef="bench_chain"/></bpmn:collaboration>
 <bpmn:process id="bench_chain" name="基准流程" isExecutable="true">
  <bpmn:laneSet id="ls"><bpmn:lane id="lane_street" name="街道办事处">{''.join(f"<bpmn:flowNodeRef>{n}</bpmn:flowNodeRef>" for n in ["start", "end"] + [f"step{i}" for i in range(1, steps + 1)] + [f"count{i}" for i in range(5, steps + 1, 5)])}</bpmn:lane></bpmn:laneSet>
  <bpmn:startEvent id="start"/>{''.join(nodes)}<bpmn:endEvent id="end"/>{''.join(flow_xml)}
 </bpmn:process>
 <bpmndi:BPMNDiagram id="d"><bpmndi:BPMNPlane id="p" bpmnElement="Collab_bench">
  <bpmndi:BPMNShape id="P_bench_di" bpmnElement="P_bench" isHorizontal="true"><dc:Bounds x="100" y="40" width="{x}" height="160"/></bpmndi:BPMNShape>
  <bpmndi:BPMNShape id="lane_street_di" bpmnElement="lane_street" isHorizontal="true"><dc:Bounds x="130" y="40" width="{x - 30}" height="160"/></bpmndi:BPMNShape>
  {''.join(shapes)}{''.join(edges)}
 </bpmndi:BPMNPlane></bpmndi:BPMNDiagram>
</bpmn:definitions>'''
    (bpmn_dir / "bench_chain.bpmn").write_text(xml, encoding="utf-8")
    return bpmn_dir, forms_dir
