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
            "note": event_note(e.action, detail, history.names),
        })
    return rows, history.report


def event_note(action: str, detail: Any, names: dict[str, str]) -> str:
    """What a person needs to read beside the action: to whom, why, from when to when."""
    if not isinstance(detail, dict):
        return ""

    def who(key: str) -> str:
        return actor_zh(str(detail.get(key) or ""), names)

    reason = f"原因：{detail['reason']}" if detail.get("reason") else ""
    if action == "task_claimed":
        return f"认领人：{who('user')}"
    if action == "task_released":
        return f"原办理人：{who('user')}"
    if action in ("task_assigned", "task_delegated"):
        to = f"{'指派给' if action == 'task_assigned' else '转办给'} {who('assignee')}"
        if detail.get("previous"):
            to += f"（原办理人：{who('previous')}）"
        return "；".join(x for x in (to, reason) if x)
    if action == "comment_added":
        mentions = detail.get("mentions") if isinstance(detail.get("mentions"), list) else []
        return ("提及：" + "、".join(actor_zh(str(m), names) for m in mentions)) if mentions else ""
    if action == "timer_rescheduled":
        from .context import deadline_time

        moved = f"{deadline_time(detail.get('old_due'))} → {deadline_time(detail.get('new_due'))}"
        return "；".join(x for x in (moved, reason) if x)
    if action in ("case_cancelled", "case_suspended", "case_resumed", "step_reopened"):
        return reason
    return ""
