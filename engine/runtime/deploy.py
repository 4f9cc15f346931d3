"""Deploying process definitions: validate everything first, then store new versions.

A definition is one BPMN file's executable process plus the DMN files it references and the
form files its user tasks name. Identical content is a no-op; changed content becomes the next
version; running cases keep the version they started on.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import audit
from engine.config import BUNDLED_BPMN_DIR, BUNDLED_FORMS_DIR
from engine.db.models import ProcessDefinition

from .definitions import (
    DEFINITIONS,
    Bundle,
    bundle_path_problem,
    executable_processes,
    form_references,
    parse_bundle,
    referenced_decisions,
    validate,
)
from .errors import DeployError


@dataclass
class DeployResult:
    key: str
    version: int
    sha256: str
    status: str  # "deployed" | "unchanged"

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def collect_files(paths: list[Path]) -> tuple[dict[str, str], dict[str, str]]:
    """BPMN and DMN sources under `paths` (files or folders), keyed by file name."""
    bpmn: dict[str, str] = {}
    dmn: dict[str, str] = {}
    for path in paths:
        if not path.exists():
            raise DeployError(f"{path}: no such file or folder", f"{path}：文件或目录不存在")
        files = sorted(path.rglob("*")) if path.is_dir() else [path]
        for f in files:
            target = bpmn if f.suffix == ".bpmn" else dmn if f.suffix == ".dmn" else None
            if target is None:
                continue
            if f.name in target:
                raise DeployError(f"{f}: a second file named {f.name}", f"{f}：文件名 {f.name} 重复")
            try:
                target[f.name] = f.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                raise DeployError(f"{f}: not UTF-8 text", f"{f}：不是 UTF-8 文本") from None
    return bpmn, dmn


MAX_FORM_BYTES = 2_000_000  # far above any real schema; keeps a stray large file out of the database


def read_form(forms_dir: Path, ref: str, where: str) -> str | None:
    """The text of form file `ref` inside `forms_dir`, or None when there is no such file.

    Refuses (naming the element) absolute paths, `..`, symlinks leading out of the folder, and
    files that are not UTF-8 text."""
    problem = bundle_path_problem(ref)
    root = forms_dir.resolve()
    if problem is None:
        target = (forms_dir / ref).resolve()
        if not target.is_relative_to(root):
            problem = ("a link leading out of the forms folder", "链接指向表单目录之外")
    if problem is not None:
        raise DeployError(f"{where}: form path {ref!r} is refused: {problem[0]}; forms must lie inside the bundle's forms folder",
                          f"{where}：表单路径 {ref!r} 无效：{problem[1]}；表单文件必须位于本次部署的 forms 目录内")
    if not target.is_file():
        return None
    if target.stat().st_size > MAX_FORM_BYTES:
        raise DeployError(f"{where}: form file forms/{ref} is larger than {MAX_FORM_BYTES} bytes",
                          f"{where}：表单文件 forms/{ref} 超过 {MAX_FORM_BYTES} 字节")
    raw = target.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is None or "\x00" in text:
        raise DeployError(f"{where}: form file forms/{ref} is not UTF-8 text",
                          f"{where}：表单文件 forms/{ref} 不是 UTF-8 文本")
    return text


def _decision_ids(dmn_xml: str) -> set[str]:
    import re

    return set(re.findall(r'<(?:\w+:)?decision\s[^>]*id="([^"]+)"', dmn_xml))


def build_bundles(bpmn: dict[str, str], dmn: dict[str, str], forms_dir: Path) -> list[Bundle]:
    """One bundle per executable process; each carries every BPMN file (call activities may
    reach any), the DMN files it references and the forms its user tasks name."""
    bundles: list[Bundle] = []
    decisions = {fname: _decision_ids(xml) for fname, xml in dmn.items()}
    for fname, xml in sorted(bpmn.items()):
        for key, name in executable_processes(xml, fname):
            wanted = set()
            for other in bpmn.values():
                wanted |= referenced_decisions(other)
            used_dmn = {f: x for f, x in dmn.items() if decisions[f] & wanted}
            draft = Bundle(key, name, dict(bpmn), used_dmn, {})
            loaded = parse_bundle(draft)
            # Keep only the BPMN files this process actually reaches.
            needed = {fname} | {getattr(s, "file", None) for s in loaded.subprocess_specs.values()}
            draft.bpmn = {f: x for f, x in bpmn.items() if f in needed}
            for where, ref in form_references(loaded):
                if ref not in draft.forms:
                    text = read_form(forms_dir, ref, where)
                    if text is not None:  # a missing file is named by `validate`
                        draft.forms[ref] = text
            bundles.append(draft)
    keys = [b.key for b in bundles]
    dupes = {k for k in keys if keys.count(k) > 1}
    if dupes:
        raise DeployError(f"process id(s) {sorted(dupes)} defined in more than one file",
                          f"流程 ID {sorted(dupes)} 在多个文件中重复定义")
    return bundles


def prepare(paths: list[Path] | None = None, forms_dir: Path | None = None) -> list[Bundle]:
    """Read and validate; raises DeployError naming file and element. Touches no database."""
    paths = paths or [BUNDLED_BPMN_DIR]
    forms_dir = forms_dir or BUNDLED_FORMS_DIR
    bpmn, dmn = collect_files(paths)
    if not bpmn:
        raise DeployError("no BPMN files found in " + ", ".join(map(str, paths)),
                          "未找到 BPMN 文件：" + "、".join(map(str, paths)))
    bundles = build_bundles(bpmn, dmn, forms_dir)
    for bundle in bundles:
        validate(parse_bundle(bundle))
    return bundles


def store(session: Session, bundles: list[Bundle], actor: str, now: datetime) -> list[DeployResult]:
    results = []
    for bundle in bundles:
        sha = bundle.sha256()
        latest = session.scalar(select(ProcessDefinition).where(ProcessDefinition.key == bundle.key)
                                .order_by(ProcessDefinition.version.desc()).limit(1))
        if latest is not None and latest.sha256 == sha:
            results.append(DeployResult(bundle.key, latest.version, sha, "unchanged"))
            continue
        version = (latest.version if latest else 0) + 1
        content = bundle.content_json()
        session.add(ProcessDefinition(key=bundle.key, version=version, name=bundle.name, sha256=sha,
                                      content=content, deployed_by=actor, deployed_at=now))
        session.flush()
        DEFINITIONS.get(sha, content)
        audit.append(session, chain=f"definition:{bundle.key}", actor=actor, action="definition_deployed",
                     detail={"key": bundle.key, "version": version, "sha256": sha,
                             "files": sorted(bundle.bpmn) + sorted(bundle.dmn) + sorted(bundle.forms)},
                     now=now)
        results.append(DeployResult(bundle.key, version, sha, "deployed"))
    return results
