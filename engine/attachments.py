"""Files uploaded with task forms (owner rolls, ballots, minutes, signed agreements).

Form data refers to a file by an object {"attachment_id", "sha256", "filename"}; the bytes stay in
the `attachment` table, so case state stays small.
"""
from __future__ import annotations

import hashlib
import re
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from engine.db.models import Attachment
from engine.runtime.errors import NotFound, ValidationFailed

MAX_BYTES = 20 * 1024 * 1024
_UNSAFE = re.compile(r"[\x00-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069\"<>:|?*]")


def safe_filename(name: str, fallback: str = "file") -> str:
    """A bare file name: the last part of whatever path a browser or a person sent, without control
    characters, bidi overrides, characters Windows refuses, or leading dots; at most 200 characters
    (the extension kept)."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = _UNSAFE.sub("", base).strip().lstrip(".").strip()
    if len(base) > 200:
        stem, dot, ext = base.rpartition(".")
        base = (stem[: 200 - len(ext) - 1] + "." + ext) if dot and 0 < len(ext) <= 16 else base[:200]
    return base or fallback


def store_attachment(session: Session, *, filename: str, content: bytes, actor: str, now: datetime,
                     case_id: int | None = None, task_id: str | None = None,
                     content_type: str = "application/octet-stream", max_bytes: int = MAX_BYTES) -> Attachment:
    if not content:
        raise ValidationFailed(f"{filename}: the file is empty", f"{filename}：文件为空")
    if len(content) > max_bytes:
        raise ValidationFailed(f"{filename}: larger than {max_bytes // 1024 // 1024} MB",
                               f"{filename}：文件超过 {max_bytes // 1024 // 1024} MB")
    att = Attachment(case_id=case_id, task_id=task_id, filename=safe_filename(filename), content_type=content_type[:100],
                     sha256=hashlib.sha256(content).hexdigest(), size=len(content), content=content,
                     created_by=actor, created_at=now)
    session.add(att)
    session.flush()
    return att


def reference(att: Attachment) -> dict:
    """What a form field stores."""
    return {"attachment_id": att.id, "sha256": att.sha256, "filename": att.filename}


def load_attachment(session: Session, ref: dict | int) -> Attachment:
    """The attachment a form field refers to; its sha256 must still match."""
    att_id = ref.get("attachment_id") if isinstance(ref, dict) else ref
    att = session.get(Attachment, att_id) if att_id is not None else None
    if att is None:
        raise NotFound(f"attachment {att_id} not found", f"附件 {att_id} 不存在")
    if isinstance(ref, dict) and ref.get("sha256") and ref["sha256"] != att.sha256:
        raise ValidationFailed(f"attachment {att_id}: sha256 mismatch", f"附件 {att_id} 校验值不符")
    return att


class PendingUpload:
    """A file taken with a form submission, stored only inside the completion's transaction:
    when the form is refused, the transaction rolls back and the file is not kept."""

    MARK = "_pending_upload"

    def __init__(self, filename: str, content: bytes, content_type: str = "application/octet-stream"):
        self.filename, self.content, self.content_type = filename, content, content_type

    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


def store_pending(session: Session, data: Any, uploads: dict[str, PendingUpload], *, actor: str, now: datetime,
                  case_id: int, task_id: str | None) -> Any:
    """`data` with every {"_pending_upload": key} replaced by the reference of the stored file."""
    if isinstance(data, dict):
        key = data.get(PendingUpload.MARK)
        if isinstance(key, str) and len(data) == 1:
            if key not in uploads:
                raise ValidationFailed(f"unknown upload {key}", "上传的文件已失效，请重新选择")
            up = uploads[key]
            return reference(store_attachment(session, filename=up.filename, content=up.content, actor=actor,
                                              now=now, case_id=case_id, task_id=task_id,
                                              content_type=up.content_type))
        return {k: store_pending(session, v, uploads, actor=actor, now=now, case_id=case_id, task_id=task_id)
                for k, v in data.items()}
    if isinstance(data, list):
        return [store_pending(session, v, uploads, actor=actor, now=now, case_id=case_id, task_id=task_id)
                for v in data]
    return data


def check_references(session: Session, data: Any, case_id: int, path: str = "") -> list[dict]:
    """Problems with file references in form data: each must name a stored file of this case
    (or one not yet tied to a case) with the same sha256."""
    problems: list[dict] = []
    if isinstance(data, dict):
        if "attachment_id" in data and isinstance(data.get("attachment_id"), int):
            att = session.get(Attachment, data["attachment_id"])
            if att is None or (att.case_id is not None and att.case_id != case_id) or \
                    (data.get("sha256") and data["sha256"] != att.sha256):
                problems.append({"field": path, "message": f"{path}: attachment {data['attachment_id']} is not a file of this case",
                                 "message_zh": f"附件 {data['attachment_id']} 不是本案件的文件或校验值不符"})
            return problems
        for k, v in data.items():
            problems += check_references(session, v, case_id, f"{path}.{k}" if path else str(k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            problems += check_references(session, v, case_id, f"{path}.{i}" if path else str(i))
    return problems
