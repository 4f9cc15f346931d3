"""What the reviewers see: the panels and pick lists the review forms declare."""
from __future__ import annotations

from engine.attachments import load_attachment
from engine.domain import committee as rules
from engine.domain import negative_list
from engine.domain.owner_roll import parse_roll
from engine.runtime.choices import choice_list
from engine.runtime.panels import panel, section


def _facts_given(candidate: dict) -> str:
    """The negative-list facts the nomination ticked as true, in words."""
    given = [negative_list.BY_ID[k].text if k in negative_list.BY_ID else k
             for k, v in (candidate.get("facts") or {}).items() if v]
    return "、".join(given) if given else "核查登记的情形均为“否”"


@panel("candidate_sheet")
def candidate_sheet_panel(session, case, task_data: dict) -> list[dict]:
    """The candidates under review, each with its screening; the party-member share and its warning."""
    sheet = task_data.get("review_sheet") or []
    nominated = {c.get("candidate_id"): c for c in task_data.get("candidates") or []}
    community = {d.get("candidate_id"): d for d in task_data.get("community_decisions") or []}
    headers = ["候选人", "业主编号", "房号", "性别", "中共党员", "提名方式", "负面清单筛查", "核查登记的情形"]
    if community:
        headers.append("社区党组织意见")
    rows = []
    for c in sheet:
        matched = [m.get("text", "") for m in (c.get("screening") or {}).get("matched") or []]
        row = [f"{c.get('candidate_id')} {c.get('name', '')}", c.get("owner_id", ""), c.get("units") or "—",
               c.get("gender") or "—", "是" if c.get("party_member") else "否", c.get("nominated_by") or "—",
               "命中：" + "、".join(matched) if matched else "未命中负面清单情形",
               _facts_given(nominated.get(c.get("candidate_id"), c))]
        if community:
            d = community.get(c.get("candidate_id")) or {}
            row.append(("同意" if d.get("approve") else "不同意" + (f"（{d.get('reason')}）" if d.get("reason") else ""))
                       if d else "—")
        rows.append(row)
    approved = list(task_data.get("approved_candidates") or [])
    if community:  # the street sees the share among those the community approved
        considered = approved + [c for c in sheet if (community.get(c.get("candidate_id")) or {}).get("approve")]
        basis = "已通过审查及社区党组织同意的候选人"
    else:
        considered = approved + sheet
        basis = "已通过审查及本次待审查的候选人"
    share = rules.party_share(considered)
    sections = [
        section(f"本次审查的候选人（{len(sheet)} 名）", table={"headers": headers, "rows": rows},
                notes=[] if rows else ["本次没有待审查的候选人。"]),
        section("党员占比", facts=[("计算范围", basis), ("党员人数/候选人数", share["share"]),
                                  ("党员比例", f"{share['percent']}%"), ("是否过半数", "是" if share["more_than_half"] else "否")],
                warnings=[share["warning"]] if share["warning"] else []),
    ]
    excluded = task_data.get("excluded_candidates") or []
    if excluded:
        sections.append(section(f"因负面清单已排除（{len(excluded)} 名，不列入审查）", table={
            "headers": ["候选人", "命中的情形"],
            "rows": [[f"{e.get('candidate_id')} {e.get('name', '')}",
                      "、".join(m.get("text", "") for m in (e.get("screening") or {}).get("matched") or []) or "—"]
                     for e in excluded]}))
    return sections


@panel("roll_totals")
def roll_totals_panel(session, case, task_data: dict) -> list[dict]:
    """The confirmed roll's totals the ballots are counted against."""
    roll = task_data.get("owner_roll") or {}
    if "attachment_id" in roll:
        # A prior-review vote: `owner_roll` is the uploaded file itself; its totals were read
        # into the vote plan when the vote was arranged.
        roll = {**((task_data.get("vote_plan") or {}).get("roll") or {}), "ref": roll}
    elif not roll:
        roll = (task_data.get("vote_plan") or {}).get("roll") or {}
    if not roll.get("owners", roll.get("total_owners")):
        return [section("业主名册", notes=["尚无已确认的业主名册。"])]
    owners = roll.get("owners", roll.get("total_owners"))
    return [section("已确认的业主名册", facts=[
        ("房屋套数", f"{roll.get('units', '—')} 套"), ("业主总人数", f"{owners} 人"),
        ("专有部分总面积", f"{roll.get('total_area', '—')} 平方米"),
        ("参与表决要求", "参与表决的业主须占专有部分总面积三分之二以上且占业主总人数三分之二以上")],
        files=[roll["ref"]] if isinstance(roll.get("ref"), dict) else [])]


@choice_list("owners")
def owner_choices(session, case, role: str, task_data: dict) -> list[tuple[str, str]]:
    """The owners on the confirmed roll (a candidate must be one of them)."""
    ref = (task_data.get("owner_roll") or {}).get("ref")
    if not ref:
        return []
    att = load_attachment(session, ref)
    roll = parse_roll(att.content, att.filename)
    return [(o.owner_id, f"{o.owner_id} {o.name or '建设单位'}（{'、'.join(o.units)}）") for o in roll.owners.values()]


