"""Deployment: validation names file and element; versions; running cases keep theirs."""
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.db.models import ProcessDefinition
from engine.runtime.errors import DeployError, ScriptRefused
from engine.runtime.service import deploy
from tests.engine.support import SAMPLE_BPMN, SAMPLE_FORMS, apply_data

SOURCE = (SAMPLE_BPMN / "sample_review.bpmn").read_text(encoding="utf-8")


def _variant(tmp_path: Path, old: str, new: str, name="sample_review.bpmn") -> Path:
    assert old in SOURCE
    d = tmp_path / "bpmn"
    d.mkdir(exist_ok=True)
    (d / name).write_text(SOURCE.replace(old, new), encoding="utf-8")
    return d


def _count(rt):
    with rt.uow() as s:
        return s.scalar(select(func.count()).select_from(ProcessDefinition))


def test_identical_content_is_a_noop_and_changes_make_new_versions(runtime, actors, tmp_path):
    first = deploy(runtime, [SAMPLE_BPMN], SAMPLE_FORMS)
    assert [(r.key, r.version, r.status) for r in first] == [("sample_review", 1, "deployed")]
    assert [r.status for r in deploy(runtime, [SAMPLE_BPMN], SAMPLE_FORMS)] == ["unchanged"]
    old_case = runtime.start_case("sample_review", "PK-JP-XC-01", actors["street"])

    changed = _variant(tmp_path, "large = amount &gt; 1000", "large = amount &gt; 100")
    second = deploy(runtime, [changed], SAMPLE_FORMS)
    assert [(r.version, r.status) for r in second] == [(2, "deployed")]
    new_case = runtime.start_case("sample_review", "PK-JP-XC-01", actors["street"])
    assert (old_case.definition_version, new_case.definition_version) == (1, 2)

    # The old case runs on version 1's rule (amount 500 is small there), the new one on version 2's.
    old_done = runtime.complete_task(old_case.tasks[0]["id"], actors["street"], apply_data(amount=500))
    new_done = runtime.complete_task(new_case.tasks[0]["id"], actors["street"], apply_data(amount=500))
    assert old_done.status == "completed" and old_done.data["large"] is False
    assert new_done.status == "running" and new_done.data["large"] is True


@pytest.mark.parametrize("old,new,needle", [
    ('value="sample/review.schema.json"', 'value="sample/missing.schema.json"', "forms/sample/missing.schema.json"),
    ('name="社区党组织"', 'name="物业公司"', "物业公司"),
    ("<bpmn:conditionExpression>large</bpmn:conditionExpression>",
     "<bpmn:conditionExpression>().__class__.__base__.__subclasses__()</bpmn:conditionExpression>", "gw_large"),
    ("<bpmn:script>escalated = True</bpmn:script>",
     "<bpmn:script>import os\nos.system('id')</bpmn:script>", "escalate"),
    ("<bpmn:script>escalated = True</bpmn:script>",
     "<bpmn:script>x = ().__class__.__base__.__subclasses__()</bpmn:script>", "escalate"),
    ("review_deadline['due']</bpmn:timeDate>", "review_deadline.__class__</bpmn:timeDate>", "review_timeout"),
    ('serviceTaskOperator id="deadline"', 'serviceTaskOperator id="os.system"', "compute_due"),
    ('<spiffworkflow:parameter id="kind" type="str" value="\'review\'" />',
     '<spiffworkflow:parameter id="kind" type="str" value="__import__(\'os\')" />', "compute_due"),
    ("</bpmn:process>", "</bpmn:proces>", "sample_review.bpmn"),
])
def test_invalid_definitions_are_refused_naming_file_and_element(runtime, tmp_path, old, new, needle):
    bad = _variant(tmp_path, old, new)
    with pytest.raises(DeployError) as err:
        deploy(runtime, [bad], SAMPLE_FORMS)
    assert needle in str(err.value)
    assert "sample_review.bpmn" in str(err.value)
    assert _count(runtime) == 0


def test_invalid_json_schema_is_refused(runtime, tmp_path):
    forms = tmp_path / "forms"
    shutil.copytree(SAMPLE_FORMS, forms)
    (forms / "sample" / "review.schema.json").write_text('{"type": "objekt"}', encoding="utf-8")
    with pytest.raises(DeployError) as err:
        deploy(runtime, [SAMPLE_BPMN], forms)
    assert "review.schema.json" in str(err.value) and "JSON Schema" in str(err.value)
    assert _count(runtime) == 0


def test_the_known_escape_is_refused_as_script(runtime, tmp_path):
    bad = _variant(tmp_path, "<bpmn:script>escalated = True</bpmn:script>",
                   "<bpmn:script>escalated = ().__class__.__base__.__subclasses__()</bpmn:script>")
    with pytest.raises(ScriptRefused):
        deploy(runtime, [bad], SAMPLE_FORMS)
