"""Roles and how BPMN lanes map onto them. A lane may be named by its role code or by one of the
Chinese lane names below (diagrams read better in Chinese)."""
from __future__ import annotations

ROLES: dict[str, str] = {
    "street_staff": "街道工作人员",
    "community_staff": "社区工作人员",
    "party_branch_secretary": "小区党支部书记",
    "community_party_org": "社区党组织",
    "street_party_committee": "街道党工委",
    "district_mediator": "区住房综合服务中心调解员",
    "auditor": "审计/纪检人员",
    "admin": "系统管理员",
}

# Roles that may never act on a task (they read only).
READ_ONLY_ROLES = frozenset({"auditor"})

LANE_ROLES: dict[str, str] = {
    "街道办事处": "street_staff",
    "街道办": "street_staff",
    "筹备组": "street_staff",
    "换届小组": "street_staff",
    "街道调解员": "street_staff",
    "社区": "community_staff",
    "社区居委会": "community_staff",
    "社区调解员": "community_staff",
    "受理窗口": "community_staff",
    "业主委员会": "community_staff",
    "提交方": "community_staff",
    "小区党支部": "party_branch_secretary",
    "社区党组织": "community_party_org",
    "街道党工委": "street_party_committee",
    "区住房综合服务中心": "district_mediator",
    "区级调解员": "district_mediator",
}


def role_for_lane(lane: str | None) -> str | None:
    """The role whose users act in `lane`; None when the lane is unknown."""
    if lane is None:
        return None
    lane = lane.strip()
    if lane in ROLES:
        return lane
    return LANE_ROLES.get(lane)
