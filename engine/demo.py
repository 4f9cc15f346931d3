"""Demo organisation and accounts (`hongwu init --demo`, and the tests' fixtures).

One district, one street, two communities, three compounds, and one account per role. `hongwu
init --demo` (`make run`) also staffs every role in every community and compound it creates
(STAFF), with a second colleague at the street and in 新城社区 to hand tasks to, so no step of a
demo case sits unseen; the tests' fixtures seed only USERS, keeping some gaps to test. Demo
passwords are printed by `make run`; they are for a local demo database only.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from engine.orgs import ensure_org, ensure_user

DEMO_PASSWORD = "hongwu-demo"

ORGS = [
    ("district", "PK", "浦口区", None),
    ("street", "PK-JP", "江浦街道", "PK"),
    ("community", "PK-JP-XC", "新城社区", "PK-JP"),
    ("community", "PK-JP-WJ", "文景社区", "PK-JP"),
    ("compound", "PK-JP-XC-01", "明发滨江新城小区", "PK-JP-XC"),
    ("compound", "PK-JP-XC-02", "威尼斯水城小区", "PK-JP-XC"),
    ("compound", "PK-JP-WJ-01", "文景花园小区", "PK-JP-WJ"),
]

# 机关代字 of the demo streets in their document numbers (江街〔2026〕3号).
DOC_PREFIXES = {"PK-JP": "江街"}

USERS = [
    ("street", "王街道", "street_staff", "PK-JP"),
    ("community", "李社区", "community_staff", "PK-JP-XC"),
    ("community2", "赵社区", "community_staff", "PK-JP-WJ"),
    ("branch", "陈书记", "party_branch_secretary", "PK-JP-XC-01"),
    ("cparty", "刘社区党委", "community_party_org", "PK-JP-XC"),
    ("sparty", "周党工委", "street_party_committee", "PK-JP"),
    ("mediator", "孙调解员", "district_mediator", "PK"),
    ("auditor", "吴审计", "auditor", "PK"),
    ("admin", "管理员", "admin", None),
]


# Every community and compound of ORGS gets each role placed there (engine.runtime.staffing.ROLE_LEVEL).
STAFF = [
    ("street2", "钱街道", "street_staff", "PK-JP"),
    ("community3", "何社区", "community_staff", "PK-JP-XC"),
    ("cparty2", "冯社区党委", "community_party_org", "PK-JP-WJ"),
    ("branch2", "郑书记", "party_branch_secretary", "PK-JP-XC-02"),
    ("branch3", "林书记", "party_branch_secretary", "PK-JP-WJ-01"),
]


def seed(session: Session, now: datetime, password: str | None = DEMO_PASSWORD,
         staff_every_unit: bool = False) -> None:
    for kind, code, name, parent in ORGS:
        org = ensure_org(session, kind, code, name, parent)
        if code in DOC_PREFIXES and not org.doc_prefix:
            org.doc_prefix = DOC_PREFIXES[code]
    for username, display, role, juris in USERS + (STAFF if staff_every_unit else []):
        ensure_user(session, username, display, role, juris, password, now)
