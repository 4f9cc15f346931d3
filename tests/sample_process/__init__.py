"""A tiny process added the way every process is added: this package (its descriptor and its one
service task), its BPMN file and its form — and nothing under engine/. tests/engine/
test_sample_process.py registers it, deploys it, runs it through the service layer and looks
at it on the web pages.

公共维修登记: the community registers a repair of a shared part of a compound; a service task
records what and how urgent in the case summary.
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from engine.runtime.invariants import Invariant
from engine.runtime.registry import DemoCase, DemoStep, ProcessDescriptor
from engine.runtime.services import ServiceContext, service

HERE = Path(__file__).resolve().parent
BPMN = HERE / "sample_repair.bpmn"
FORMS = HERE / "forms"
URGENCY_ZH = {"normal": "一般", "urgent": "紧急"}


@service("sample_repair.record", context=True)
def record(ctx: ServiceContext) -> dict:
    """The registered repair → `case_summary` (what, how urgent, when)."""
    data = ctx.data
    item = (data.get("repair_item") or "").strip()
    ctx.refuse([] if item else [ctx.problem("repair_item", "the repair item is empty", "维修事项不能为空")])
    return ctx.summary(repair_item=item, urgency=data.get("urgency"), registered_at=ctx.now.isoformat())


def _urgent_has_item(data: Mapping[str, Any], events) -> str | None:
    summary = data.get("case_summary") or {}
    if summary.get("urgency") == "urgent" and not summary.get("repair_item"):
        return "紧急维修须写明维修事项"
    return None


DESCRIPTOR = ProcessDescriptor(
    key="sample_repair",
    title="公共维修登记",
    case_prefix="WX",
    starters=frozenset({"community_staff"}),
    data_labels={"repair_item": "维修事项", "urgency": "紧急程度", "registered_at": "登记时间"},
    labels={"urgency": URGENCY_ZH},
    demo=(DemoCase("PK-JP-XC-01", "community", (
        DemoStep("register", "community", {"repair_item": "3栋电梯门不能关闭", "urgency": "urgent"}),)),),
    invariants=(Invariant("sample_repair.urgent_has_item", "紧急维修须写明维修事项", _urgent_has_item),),
)
