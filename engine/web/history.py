"""A case's audit chain as a readable timeline (who, when, what, which data changed), labelled in
Chinese (engine/web/labels.py); the raw action, actor and field names stay in the rows for the
API and for auditors."""
from __future__ import annotations

import json
from typing import Any

from engine import audit
from engine.views.cases import CaseHistory

from .labels import Vocabulary, action_zh, actor_zh, display, key_zh

NO_FORMS = Vocabulary()  # case data without its definition's forms: the runtime's labels only

__all__ = ["action_zh", "changes", "timeline"]


def _load(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def changes(before: Any, after: Any, vocab: Vocabulary = NO_FORMS) -> list[dict[str, Any]]:
    """Field-by-field changes of one event: raw values as compact JSON (for machines) and, for
    people, the field's Chinese label and each value as a display tree."""
    if not isinstance(after, dict):
        return []
    before = before if isinstance(before, dict) else {}
    out = []
    for key in sorted(after):
        old, new = before.get(key), after[key]
        if old != new:
            out.append({"field": key, "label": key_zh(key, vocab),
                        "before": None if old is None else json.dumps(old, ensure_ascii=False, default=str),
                        "after": json.dumps(new, ensure_ascii=False, default=str),
                        "before_view": None if old is None else display(key, old, vocab),
                        "after_view": display(key, new, vocab)})
    return out


def timeline(history: CaseHistory) -> tuple[list[dict[str, Any]], audit.ChainReport]:
    """The chain as rows for people, labelled with the forms of the case's definition version."""
    vocab = Vocabulary.of_forms(history.forms) if history.forms is not None else NO_FORMS
    rows = []
    for e in history.events:
        detail = _load(e.detail)
        rows.append({
            "seq": e.seq, "at": e.created_at, "actor": e.actor, "actor_name": actor_zh(e.actor, history.names),
            "action": e.action, "action_zh": action_zh(e.action, detail), "task_name": e.task_name,
            "refused": e.action.startswith("refused:"),
            "changes": changes(_load(e.data_before), _load(e.data_after), vocab),
            "detail": detail, "row_hash": e.row_hash, "prev_hash": e.prev_hash,
        })
    return rows, history.report
