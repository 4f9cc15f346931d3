"""Process definitions: a BPMN file (its executable process), the DMN and forms it uses.

`parse_bundle` turns stored content into SpiffWorkflow specs; `validate` checks everything a
deployment must check (forms, lanes, restricted code, registered services) and names the file
and BPMN element of each problem. Parsed specs are cached per stored definition id.
"""
from __future__ import annotations

import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from typing import Any

import jsonschema
from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.specs.defaults import (
    BusinessRuleTask,
    ManualTask,
    ServiceTask,
    UserTask,
)

from . import services
from .errors import DeployError
from .jobs import check_properties as check_async_properties
from .roles import role_for_lane
from .scripting import check_expression, check_script

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
FORM_PROPERTY = "formJsonSchemaFilename"
UI_FORM_PROPERTY = "formUiSchemaFilename"


@dataclass
class Bundle:
    """What is stored for one definition version."""

    key: str
    name: str
    bpmn: dict[str, str]
    dmn: dict[str, str] = field(default_factory=dict)
    forms: dict[str, str] = field(default_factory=dict)

    def content(self) -> dict[str, Any]:
        return {"key": self.key, "name": self.name, "bpmn": self.bpmn, "dmn": self.dmn, "forms": self.forms}

    def content_json(self) -> str:
        return json.dumps(self.content(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))

    def sha256(self) -> str:
        return hashlib.sha256(self.content_json().encode("utf-8")).hexdigest()

    @classmethod
    def from_content_json(cls, text: str) -> Bundle:
        d = json.loads(text)
        return cls(d["key"], d["name"], d["bpmn"], d.get("dmn", {}), d.get("forms", {}))


@dataclass
class HumanTaskSpec:
    name: str
    title: str
    lane: str | None
    role: str
    form: str | None
    ui_form: str | None
    properties: dict[str, str]


@dataclass
class LoadedDefinition:
    key: str
    name: str
    spec: Any
    subprocess_specs: dict[str, Any]
    forms: dict[str, dict]
    human_tasks: dict[str, HumanTaskSpec]
    bpmn: dict[str, str]

    def form_schema(self, task_spec_name: str) -> dict | None:
        info = self.human_tasks.get(task_spec_name)
        if info is None or info.form is None:
            return None
        return self.forms.get(info.form)

    def ui_schema(self, task_spec_name: str) -> dict | None:
        info = self.human_tasks.get(task_spec_name)
        if info is None or info.ui_form is None:
            return None
        return self.forms.get(info.ui_form)


def executable_processes(xml: str, filename: str) -> list[tuple[str, str]]:
    """(id, name) of each executable process in a BPMN document."""
    try:
        root = etree.fromstring(xml.encode("utf-8"))
    except etree.XMLSyntaxError as exc:
        raise DeployError(f"{filename}: not well-formed XML: {exc}", f"{filename}：XML 格式错误：{exc}") from None
    out = []
    for proc in root.iter(f"{{{BPMN_NS}}}process"):
        if proc.get("isExecutable", "false").lower() == "true":
            pid = proc.get("id", "")
            out.append((pid, proc.get("name") or pid))
    return out


def referenced_decisions(xml: str) -> set[str]:
    return set(re.findall(r'decisionRef="([^"]+)"', xml)) | set(
        re.findall(r"<spiffworkflow:calledDecisionId>([^<]+)<", xml))


def _parser_for(bundle: Bundle) -> SpiffBpmnParser:
    parser = SpiffBpmnParser()
    for fname, xml in bundle.bpmn.items():
        try:
            parser.add_bpmn_str(xml.encode("utf-8"), fname)
        except (ValidationException, etree.XMLSyntaxError) as exc:
            raise DeployError(f"{fname}: BPMN does not parse: {exc}", f"{fname}：BPMN 解析失败：{exc}") from None
    for fname, xml in bundle.dmn.items():
        try:
            parser.add_dmn_str(xml.encode("utf-8"), fname)
        except (ValidationException, etree.XMLSyntaxError) as exc:
            raise DeployError(f"{fname}: DMN does not parse: {exc}", f"{fname}：DMN 解析失败：{exc}") from None
    return parser


def parse_bundle(bundle: Bundle) -> LoadedDefinition:
    parser = _parser_for(bundle)
    try:
        spec = parser.get_spec(bundle.key)
        subprocess_specs = parser.get_subprocess_specs(bundle.key)
    except (ValidationException, SpiffWorkflowException) as exc:
        raise DeployError(f"{bundle.key}: {exc}", f"{bundle.key}：流程定义无效：{exc}") from None
    forms: dict[str, dict] = {}
    for path, text in bundle.forms.items():
        try:
            forms[path] = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DeployError(f"forms/{path}: not valid JSON: {exc}", f"forms/{path}：不是有效的 JSON：{exc}") from None
    human: dict[str, HumanTaskSpec] = {}
    for task_spec in _all_task_specs(spec, subprocess_specs):
        if isinstance(task_spec, (UserTask, ManualTask)):
            props = (task_spec.extensions or {}).get("properties", {})
            human[task_spec.name] = HumanTaskSpec(
                name=task_spec.name,
                title=task_spec.bpmn_name or task_spec.name,
                lane=task_spec.lane,
                role=role_for_lane(task_spec.lane) or "",
                form=props.get(FORM_PROPERTY),
                ui_form=props.get(UI_FORM_PROPERTY),
                properties=props,
            )
    return LoadedDefinition(bundle.key, bundle.name, spec, subprocess_specs, forms, human, bundle.bpmn)


def form_references(loaded: LoadedDefinition):
    """(where, path) of each form file a human task names, `where` naming file and element."""
    for task_spec in _all_task_specs(loaded.spec, loaded.subprocess_specs):
        info = loaded.human_tasks.get(task_spec.name)
        if info is not None:
            for path in filter(None, (info.form, info.ui_form)):
                yield _where(task_spec), path


def bundle_path_problem(ref: str) -> tuple[str, str] | None:
    """Why `ref` cannot name a file inside the bundle's forms folder (English, Chinese), or None.

    Only plain relative paths are accepted, so a definition can never make the server read (and
    show street staff) a file from elsewhere on the machine."""
    if not ref or any(ord(c) < 32 for c in ref) or "\\" in ref:
        return "not a plain relative path", "不是普通的相对路径"
    if ref.startswith("/") or re.match(r"^[A-Za-z]:", ref):
        return "an absolute path", "不能使用绝对路径"
    if any(part in ("", ".", "..") for part in ref.split("/")):
        return "a path with '..', '.' or an empty part", "路径中不能含有“..”“.”或空段"
    return None


def _all_task_specs(spec, subprocess_specs):
    for s in [spec, *subprocess_specs.values()]:
        yield from s.task_specs.values()


def _where(task_spec) -> str:
    fname = getattr(task_spec, "filename", None) or getattr(getattr(task_spec, "_wf_spec", None), "file", None)
    label = task_spec.bpmn_name or ""
    return f"{fname or '?'} element {task_spec.bpmn_id or task_spec.name}{' (' + label + ')' if label else ''}"


def validate(loaded: LoadedDefinition) -> None:
    """Raise DeployError naming the file and element of the first problem found."""
    for task_spec in _all_task_specs(loaded.spec, loaded.subprocess_specs):
        where = _where(task_spec)
        if isinstance(task_spec, (UserTask, ManualTask)):
            _check_human_task(loaded, task_spec, where)
        check_async_properties(task_spec, where)
        for attr in ("prescript", "postscript", "script"):
            code = getattr(task_spec, attr, None)
            if code:
                check_script(code, where=f"{where} {attr}")
        for condition, _target in getattr(task_spec, "cond_task_specs", []) or []:
            text = condition.args[0] if hasattr(condition, "args") else condition
            if text:
                check_expression(text, where=f"{where} condition")
        for attr in ("condition", "cardinality"):
            value = getattr(task_spec, attr, None)
            if isinstance(value, str) and value:
                check_expression(value, where=f"{where} {attr}")
        if isinstance(task_spec, CatchingEvent):
            _check_event(task_spec.event_definition, where)
        if isinstance(task_spec, ServiceTask):
            for pname, p in task_spec.operation_params.items():
                check_expression(p["value"], where=f"{where} parameter {pname}")
            services.check_call(task_spec.operation_name, set(task_spec.operation_params), where=where)
        if isinstance(task_spec, BusinessRuleTask):
            _check_dmn(task_spec, where)


def _check_human_task(loaded: LoadedDefinition, task_spec, where: str) -> None:
    info = loaded.human_tasks[task_spec.name]
    if not info.role:
        raise DeployError(f"{where}: lane {task_spec.lane!r} maps to no known role",
                          f"{where}：泳道 {task_spec.lane!r} 没有对应的角色")
    if not info.form:
        raise DeployError(f"{where}: user task names no form ({FORM_PROPERTY})",
                          f"{where}：用户任务未指定表单（{FORM_PROPERTY}）")
    for path in filter(None, (info.form, info.ui_form)):
        if path not in loaded.forms:
            raise DeployError(f"{where}: form file forms/{path} does not exist",
                              f"{where}：表单文件 forms/{path} 不存在")
    try:
        jsonschema.Draft202012Validator.check_schema(loaded.forms[info.form])
    except jsonschema.SchemaError as exc:
        raise DeployError(f"{where}: forms/{info.form} is not a valid JSON Schema: {exc.message}",
                          f"{where}：forms/{info.form} 不是有效的 JSON Schema：{exc.message}") from None


def _check_event(event_definition, where: str) -> None:
    expression = getattr(event_definition, "expression", None)
    if isinstance(expression, str) and expression:
        check_expression(expression, where=f"{where} {'timer' if isinstance(event_definition, TimerEventDefinition) else 'event'} expression")
    for sub in getattr(event_definition, "event_definitions", []) or []:
        _check_event(sub, where)


def _check_dmn(task_spec, where: str) -> None:
    engine = getattr(task_spec, "dmnEngine", None)
    table = getattr(engine, "decision_table", None)
    if table is None:
        return
    for inp in table.inputs:
        if inp.expression:
            check_expression(inp.expression, where=f"{where} DMN input {inp.label or inp.id}")
    for rule in table.rules:
        for entry in rule.inputEntries:
            for lhs in entry.lhs:
                if lhs and lhs.strip() not in ("-", ""):
                    _check_dmn_cell(lhs, f"{where} DMN rule {rule.row_number}")
        for entry in rule.outputEntries:
            if entry.text:
                check_expression(entry.text, where=f"{where} DMN rule {rule.row_number} output")


def _check_dmn_cell(cell: str, where: str) -> None:
    # A cell is either an expression or a comparison missing its left side ("> 5").
    try:
        check_expression(cell, where=where)
    except DeployError:
        check_expression(f"dmninputexpr {cell.replace('?', 'dmninputexpr')}", where=where)


class DefinitionCache:
    """Parsed specs keyed by content sha256 (the same content parses the same in any database);
    parsing BPMN is far slower than running a task."""

    def __init__(self):
        self._lock = threading.Lock()
        self._items: dict[str, LoadedDefinition] = {}

    def get(self, sha256: str, content_json) -> LoadedDefinition:
        """`content_json` is the stored text, or a callable returning it (read only on a miss)."""
        item = self._items.get(sha256)
        if item is not None:
            return item
        text = content_json() if callable(content_json) else content_json
        loaded = parse_bundle(Bundle.from_content_json(text))
        with self._lock:
            return self._items.setdefault(sha256, loaded)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


DEFINITIONS = DefinitionCache()
