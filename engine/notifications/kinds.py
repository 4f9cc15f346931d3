"""The kinds of notification a user may receive, with the Chinese names the settings page shows."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    code: str
    name_zh: str
    about_zh: str


_ALL = (
    Kind("task_ready", "新待办", "有步骤进入我的岗位待办（或直接交给我）"),
    Kind("task_assigned", "指派给我", "上级把某个步骤指派或转交给我"),
    Kind("task_returned", "退回岗位", "认领人放弃了某个步骤，回到岗位待办"),
    Kind("task_due_soon", "即将到期", "我的待办在一天内到期"),
    Kind("task_overdue", "已超期", "待办已超过办理期限（同时提醒街道）"),
    Kind("mentioned", "评论中提到我", "有人在案件或步骤的评论中 @ 我"),
    Kind("step_unstaffed", "无人办理", "某个步骤所需岗位在该辖区没有在岗人员"),
    Kind("case_stuck", "案件停滞", "案件既无待办也无计时器，无法自动继续"),
    Kind("case_control", "案件撤销/中止/恢复", "我辖区内的案件被撤销、中止或恢复"),
    Kind("digest", "每日摘要", "每日一封邮件汇总未读通知"),
)
KINDS: dict[str, Kind] = {k.code: k for k in _ALL}
# Kinds a user can switch off on the settings page (the digest is its own switch).
CHOOSABLE = tuple(k for k in _ALL if k.code != "digest")


def name_zh(code: str) -> str:
    kind = KINDS.get(code)
    return kind.name_zh if kind else code
