"""Statistics from the database (street and period filters) and the `hongwu` commands."""
from __future__ import annotations

import json
from datetime import UTC, date, datetime

from sqlalchemy import select
from typer.testing import CliRunner

from engine.cli import app
from engine.db.models import Case, OrgUnit, ProcessDefinition
from engine.orgs import ensure_org
from engine.reports.mediation import mediation_stats
from tests.mediation.support import PARTIES, deploy_mediation
from tests.mediation.test_domain import fixture_records

NOW = datetime(2026, 12, 20, 2, tzinfo=UTC)


def insert_fixture(runtime) -> None:
    """The domain fixture's nine cases in PK-JP, plus cases that the filters must leave out."""
    deploy_mediation(runtime)
    with runtime.uow() as s:
        ensure_org(s, "street", "PK-QL", "桥林街道", "PK")
        ensure_org(s, "community", "PK-QL-01", "桥林社区", "PK-QL")
        ensure_org(s, "compound", "PK-QL-01-01", "桥林新苑", "PK-QL-01")
        pd = s.scalar(select(ProcessDefinition).where(ProcessDefinition.key == "tiered_mediation"))
        units = {u.code: u for u in s.scalars(select(OrgUnit))}

        def add(number, compound, status, created, summary):
            s.add(Case(case_number=number, definition_id=pd.id, process_key="tiered_mediation",
                       compound_id=units[compound].id, org_path=units[compound].path, title=number, status=status,
                       state="{}", summary=json.dumps(summary), version=1, created_by="test", created_at=created,
                       updated_at=created))

        for i, r in enumerate(fixture_records()):
            add(r.case_number, ["PK-JP-XC-01", "PK-JP-XC-02", "PK-JP-WJ-01"][i % 3], r.status, r.received_at,
                dict(r.summary))
        add("OTHER-STREET", "PK-QL-01-01", "completed", datetime(2026, 11, 5, tzinfo=UTC),
            {"accepted": True, "outcome": "referred"})
        # 31 Oct 23:00 Beijing = 31 Oct 15:00 UTC: before a period starting 1 Nov.
        add("OCTOBER", "PK-JP-XC-01", "completed", datetime(2026, 10, 31, 15, tzinfo=UTC),
            {"accepted": True, "outcome": "referred"})


def test_report_matches_the_hand_computed_fixture(runtime):
    insert_fixture(runtime)
    with runtime.uow() as s:
        r = mediation_stats(s, "PK-JP", date(2026, 11, 1), date(2026, 12, 31), now=NOW)
        everything = mediation_stats(s, "PK-JP", now=NOW)
        december = mediation_stats(s, "PK-JP", date(2026, 12, 1), None, now=NOW)
    assert (r["received"], r["accepted"], r["concluded"], r["settled"], r["referred"]) == (9, 7, 5, 4, 1)
    assert (r["mediation_rate"], r["success_rate"]) == (0.875, 0.8)
    assert (r["settled_level1_share"], r["settled_level2_or_below_share"]) == (0.4, 0.6)
    assert r["median_days_per_level"] == {"community": 7.0, "street": 12.5, "district": 20.0}
    assert r["overdue_cases"] == ["E"] and r["street_name"] == "江浦街道"
    assert everything["received"] == 10 and everything["referred"] == 2  # October's case counts without a period
    assert december["received"] == 4  # E, F, G, H


def test_cli_stats_tokens_and_intake(runtime, tmp_path):
    insert_fixture(runtime)
    cli = CliRunner()
    db = ["--db", runtime.url]

    out = cli.invoke(app, [*db, "stats", "mediation", "--street", "PK-JP", "--from", "2026-11-01", "--to",
                           "2026-12-31", "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["received"] == 9 and data["success_rate"] == 0.8
    text = cli.invoke(app, [*db, "stats", "mediation", "--street", "PK-JP", "--from", "2026-11-01"])
    assert text.exit_code == 0 and "调处率" in text.output and "成功率 95% 以上" in text.output
    bad = cli.invoke(app, [*db, "stats", "mediation", "--street", "PK-NONE"])
    assert bad.exit_code == 2 and "PK-NONE" in bad.output

    created = cli.invoke(app, [*db, "token", "create", "12345hotline", "--scope", "mediation_intake", "--json"])
    assert created.exit_code == 0, created.output
    token = json.loads(created.output)
    assert token["token"].startswith("hw_")
    listed = cli.invoke(app, [*db, "token", "list"])
    assert "12345hotline" in listed.output and token["token"] not in listed.output
    assert cli.invoke(app, [*db, "token", "create", "x", "--scope", "root"]).exit_code == 2
    revoked = cli.invoke(app, [*db, "token", "revoke", str(token["id"])])
    assert revoked.exit_code == 0 and "已吊销" in revoked.output

    body = {"reference": "GRID-7", "compound": "PK-JP-XC-02", "source": "grid_member", "category": "parking",
            "facts": "地下车库充电桩安装争议，物业公司不予配合。", "parties": PARTIES}
    path = tmp_path / "case.json"
    path.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
    first = cli.invoke(app, [*db, "mediation", "intake", "--data", f"@{path}", "--json"])
    assert first.exit_code == 0, first.output
    again = cli.invoke(app, [*db, "mediation", "intake", "--data", f"@{path}", "--json"])
    assert json.loads(again.output)["case_number"] == json.loads(first.output)["case_number"]
    assert json.loads(first.output)["created"] is True and json.loads(again.output)["created"] is False
    path.write_text(json.dumps({**body, "category": "fight"}), encoding="utf-8")
    invalid = cli.invoke(app, [*db, "mediation", "intake", "--data", f"@{path}"])
    assert invalid.exit_code == 2 and "纠纷类别" in invalid.output

    shown = cli.invoke(app, [*db, "mediation", "deadlines", "--org", "PK-JP", "--set", '{"community": 10}', "--json"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)["value"]["community"] == 10
    refused = cli.invoke(app, [*db, "mediation", "deadlines", "--org", "PK-JP", "--set", '{"max_extension_days": 40}'])
    assert refused.exit_code == 2 and "0–30" in refused.output
