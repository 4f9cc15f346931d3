"""The negative list (负面清单): grounds that bar an owner from standing for the owners' committee.

Each ground is data — an id, the Chinese text shown to reviewers, its source and whether it is on
by default. A street (or a compound below it) switches grounds on or off through the versioned
setting `negative_list` (value `{ground_id: bool}`, stored with `engine.settings_store`); grounds it
does not mention keep their default. The fee-arrears ground is off by default: the national
legislative review found local bars on owners in arrears improper and Shanghai removed it in 2023,
so it stays only as a per-compound option (DESIGN.md §4.2).

Screening is `evaluate(facts, enabled)`: `facts` are what the preparatory group recorded for one
candidate, `{ground_id: true}` for each ground that applies to them; the result lists the enabled
grounds matched. A candidate with any match cannot reach the ballot.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

SETTING_KEY = "negative_list"

_LOCAL = "地方业主委员会委员候选人负面清单规定（DESIGN.md §4.2 汇总）"
_PARTY = "池州、秦淮、东胜等地党建引领“红色物业”做法：候选人街道社区党组织联审和负面清单制度"


@dataclass(frozen=True)
class Ground:
    id: str
    text: str  # Chinese, as shown on forms and notices
    source: str
    default_on: bool = True

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


GROUNDS: tuple[Ground, ...] = (
    Ground("property_company_relation", "本人、配偶或直系亲属在本小区物业服务企业任职", _LOCAL),
    Ground("damaged_structure", "擅自拆改房屋主体或承重结构", _LOCAL),
    Ground("illegal_construction", "在小区内违法搭建", _LOCAL),
    Ground("damaged_exterior", "擅自破坏房屋外观", _LOCAL),
    Ground("changed_use", "未经批准擅自改变房屋用途", _LOCAL),
    Ground("illegal_letting", "违规出租房屋（如群租）", _LOCAL),
    Ground("refused_decisions", "拒不执行业主大会、业主委员会决定", _LOCAL),
    Ground("criminal", "正在被刑事立案侦查，或三年内受过刑事处罚", _LOCAL),
    Ground("party_discipline", "正在接受党纪立案审查，或三年内受过党内严重警告以上处分", _PARTY),
    Ground("cult_or_petitioning", "参与邪教组织，或组织、参与非法上访", _PARTY),
    Ground("criminal_gangs", "利用黑恶势力干扰业主自治活动", _LOCAL),
    Ground("obstructed_elections", "以不正当手段阻挠业主大会会议或选举", _LOCAL),
    Ground("took_benefits", "收受物业服务企业或建设单位财物、谋取不正当利益", _LOCAL),
    Ground("leaked_personal_data", "泄露业主个人信息", _LOCAL),
    Ground("insufficient_residence", "每年在本小区居住时间不满规定月数", _LOCAL),
    Ground("fee_arrears", "拖欠物业服务费或专项维修资金",
           "部分地方规定；全国人大常委会法工委备案审查认为限制欠费业主参选不当，上海2023年已删除——仅作小区可选项，默认关闭",
           default_on=False),
)
BY_ID: dict[str, Ground] = {g.id: g for g in GROUNDS}


def default_setting() -> dict[str, bool]:
    """The switches a street starts with: every ground at its default."""
    return {g.id: g.default_on for g in GROUNDS}


def validate_setting(value: Any) -> list[str]:
    """Problems with a proposed `{ground_id: bool}` setting (Chinese, one per problem); [] = valid."""
    if not isinstance(value, dict):
        return ["负面清单设置必须是 {条目编号: true/false} 形式的对象"]
    problems = []
    for key, on in value.items():
        if key not in BY_ID:
            problems.append(f"未知的负面清单条目：{key}")
        elif not isinstance(on, bool):
            problems.append(f"条目 {key} 的开关必须是 true 或 false，当前为 {on!r}")
    return problems


def enabled_grounds(setting: dict[str, bool] | None) -> set[str]:
    """Ids switched on: the setting's switches over the defaults."""
    merged = default_setting()
    for key, on in (setting or {}).items():
        if key in merged and isinstance(on, bool):
            merged[key] = on
    return {k for k, on in merged.items() if on}


def _applies(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "yes", "1", "是")
    return bool(value)


def evaluate(facts: dict[str, Any], enabled: Iterable[str]) -> list[Ground]:
    """The enabled grounds that the recorded `facts` ({ground_id: true}) match, in list order."""
    on = set(enabled)
    return [g for g in GROUNDS if g.id in on and _applies(facts.get(g.id))]


def screen(facts: dict[str, Any], enabled: Iterable[str]) -> dict[str, Any]:
    """JSON-able screening result for one candidate: {"eligible", "matched": [{id, text, source}]}."""
    matched = evaluate(facts, enabled)
    return {"eligible": not matched,
            "matched": [{"id": g.id, "text": g.text, "source": g.source} for g in matched]}
