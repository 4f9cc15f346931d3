"""Deploy reads form files only from inside the bundle's forms folder, and only UTF-8 text."""
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.db.models import ProcessDefinition
from engine.runtime.errors import DeployError
from engine.runtime.service import deploy
from tests.engine.support import SAMPLE_BPMN, SAMPLE_FORMS

SOURCE = (SAMPLE_BPMN / "sample_review.bpmn").read_text(encoding="utf-8")
REF = 'value="sample/review.schema.json"'


def _bundle(tmp_path: Path, ref: str) -> tuple[Path, Path]:
    assert REF in SOURCE
    bpmn, forms = tmp_path / "bpmn", tmp_path / "forms"
    bpmn.mkdir()
    shutil.copytree(SAMPLE_FORMS, forms)
    (bpmn / "sample_review.bpmn").write_text(SOURCE.replace(REF, f'value="{ref}"'), encoding="utf-8")
    return bpmn, forms


def _definitions(rt) -> int:
    with rt.uow() as s:
        return s.scalar(select(func.count()).select_from(ProcessDefinition))


@pytest.fixture
def outside(tmp_path) -> Path:
    """A valid JSON schema lying outside the bundle."""
    f = tmp_path / "secret.json"
    f.write_text('{"type": "object", "title": "机密"}', encoding="utf-8")
    return f


@pytest.mark.parametrize("ref_kind", ["absolute", "dotdot", "dotdot_inside", "backslash", "dot", "empty_part"])
def test_form_paths_outside_the_bundle_are_refused_naming_the_element(runtime, tmp_path, outside, ref_kind):
    ref = {
        "absolute": str(outside),
        "dotdot": "../secret.json",
        "dotdot_inside": "sample/../sample/review.schema.json",  # stays inside, still refused: one spelling only
        "backslash": "sample\\review.schema.json",
        "dot": "./sample/review.schema.json",
        "empty_part": "sample//review.schema.json",
    }[ref_kind]
    bpmn, forms = _bundle(tmp_path, ref)
    with pytest.raises(DeployError) as err:
        deploy(runtime, [bpmn], forms)
    text = str(err.value)
    assert "sample_review.bpmn" in text and "review" in text and "表单路径" in text
    assert "机密" not in text
    assert _definitions(runtime) == 0


def test_a_symlink_leading_out_of_the_forms_folder_is_refused(runtime, tmp_path, outside):
    bpmn, forms = _bundle(tmp_path, "sample/link.json")
    (forms / "sample" / "link.json").symlink_to(outside)
    with pytest.raises(DeployError) as err:
        deploy(runtime, [bpmn], forms)
    assert "链接" in str(err.value) and "sample_review.bpmn" in str(err.value)
    assert _definitions(runtime) == 0


@pytest.mark.parametrize("content", [b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe", b'{"type": "object"}\x00', "{}".encode("gbk") + "表单".encode("gbk")])
def test_binary_or_non_utf8_form_files_are_a_deploy_error_not_a_crash(runtime, tmp_path, content):
    bpmn, forms = _bundle(tmp_path, "sample/review.schema.json")
    (forms / "sample" / "review.schema.json").write_bytes(content)
    with pytest.raises(DeployError) as err:
        deploy(runtime, [bpmn], forms)
    assert "UTF-8" in str(err.value) and "sample_review.bpmn" in str(err.value)
    assert _definitions(runtime) == 0


def test_a_plain_path_inside_the_bundle_still_deploys(runtime, tmp_path):
    bpmn, forms = _bundle(tmp_path, "sample/review.schema.json")
    assert [r.status for r in deploy(runtime, [bpmn], forms)] == ["deployed"]


def test_the_admin_upload_refuses_the_same_paths(tmp_path):
    from engine.web.admin import stage_upload

    bpmn = SOURCE.replace(REF, 'value="../../etc/review.schema.json"').encode("utf-8")
    with pytest.raises(DeployError) as err:
        stage_upload([("sample_review.bpmn", bpmn), ("review.schema.json", b"{}")], tmp_path)
    assert "表单路径无效" in err.value.message_zh
    assert not (tmp_path / "etc").exists() and not Path("/etc/review.schema.json").exists()
