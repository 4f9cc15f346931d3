"""The hongwu CLI end to end on a fresh database: JSON output, exit code 2 on bad input."""
import json
from datetime import UTC

from typer.testing import CliRunner

from engine.cli import app
from tests.engine.support import SAMPLE_BPMN, SAMPLE_FORMS


def test_deploy_start_complete_worker(cli, clock):
    out = json.loads(cli("deploy", SAMPLE_BPMN, "--forms", SAMPLE_FORMS, "--json").stdout)
    assert out[0]["key"] == "sample_review" and out[0]["status"] == "deployed"
    again = json.loads(cli("deploy", SAMPLE_BPMN, "--forms", SAMPLE_FORMS, "--json").stdout)
    assert again[0]["status"] == "unchanged"

    case = json.loads(cli("case", "start", "sample_review", "--compound", "PK-JP-XC-01", "--as", "street",
                          "--data", '{"note": "CLI"}', "--json").stdout)
    tasks = json.loads(cli("task", "list", "--as", "street", "--json").stdout)
    assert [t["case_number"] for t in tasks] == [case["case_number"]]
    done = json.loads(cli("task", "complete", tasks[0]["id"], "--as", "street", "--data",
                          json.dumps({"applicant": "王五", "amount": 20000, "review_days": 1}), "--json").stdout)
    assert done["status"] == "running" and done["tasks"][0]["name"] == "review"
    assert json.loads(cli("worker", "--once", "--json").stdout) == {"fired": 0, "jobs": 0}
    shown = json.loads(cli("case", "show", case["case_number"], "--json").stdout)
    assert shown["timers"] and shown["data"]["applicant"] == "王五"
    listed = json.loads(cli("case", "list", "--json").stdout)
    assert [c["case_number"] for c in listed] == [case["case_number"]]
    assert "OK" in cli("audit", "verify").stdout


def test_bad_input_exits_2_with_one_line(cli, tmp_path):
    cli("deploy", SAMPLE_BPMN, "--forms", SAMPLE_FORMS)
    assert "unknown compound" in cli("case", "start", "sample_review", "--compound", "NOPE", code=2).output
    assert "not valid JSON" in cli("case", "start", "sample_review", "--compound", "PK-JP-XC-01",
                                   "--data", "{oops", code=2).output
    assert "no such file" in cli("case", "start", "sample_review", "--compound", "PK-JP-XC-01",
                                 "--data", "@/nonexistent.json", code=2).output
    assert "unknown or inactive user" in cli("task", "list", "--as", "nobody", code=2).output
    assert "不存在" in cli("task", "complete", "nope", "--as", "street", "--data", "{}", code=2).output
    case = json.loads(cli("case", "start", "sample_review", "--compound", "PK-JP-XC-01", "--as", "street",
                          "--json").stdout)
    res = cli("task", "complete", case["tasks"][0]["id"], "--as", "street", "--data", '{"amount": "x"}', code=2)
    assert "「申请人」为必填项" in res.output and "amount" in res.output
    broken = tmp_path / "b.bpmn"
    broken.write_text("<not-bpmn", encoding="utf-8")
    assert "b.bpmn" in cli("deploy", broken, code=2).output


def test_attach_stores_a_file_reference(cli, tmp_path):
    cli("deploy", SAMPLE_BPMN, "--forms", SAMPLE_FORMS)
    case = json.loads(cli("case", "start", "sample_review", "--compound", "PK-JP-XC-01", "--as", "street",
                          "--json").stdout)
    f = tmp_path / "roll.csv"
    f.write_text("unit_id,owner_id,owner_name,area_m2\n1-101,o1,张三,88.5\n", encoding="utf-8")
    ref = json.loads(cli("case", "attach", case["case_number"], f, "--as", "street", "--json").stdout)
    assert ref["filename"] == "roll.csv" and len(ref["sha256"]) == 64
    cli("case", "attach", case["case_number"], f, "--as", "community2", code=2)


def test_init_demo_is_idempotent(tmp_path):
    """`make run`'s first step: migrate, deploy the bundled processes, load demo data — twice."""
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    runner = CliRunner()
    first = runner.invoke(app, ["--db", url, "init", "--demo", "--json"])
    assert first.exit_code == 0, first.output
    out = json.loads(first.stdout)
    assert {d["key"] for d in out["deployed"]} == {"committee_election", "prior_review", "tiered_mediation"}
    assert len(out["demo"]["cases"]) == 4
    second = json.loads(runner.invoke(app, ["--db", url, "init", "--demo", "--json"]).stdout)
    assert {d["status"] for d in second["deployed"]} == {"unchanged"} and second["demo"]["cases"] == []
    tasks = json.loads(runner.invoke(app, ["--db", url, "task", "list", "--as", "street", "--json"]).stdout)
    assert {t["case_number"] for t in tasks} >= {"YWH-2026-000001", "YWH-2026-000002"}


def test_serve_fires_due_timers_in_the_background(db_url):
    """`hongwu serve`'s timer thread (here without the web server) fires what is due by the wall clock."""
    import time
    from datetime import datetime

    from engine import demo
    from engine.commands import _common
    from engine.commands.serve import start_timer_thread
    from engine.runtime.actors import load_actor
    from engine.runtime.clock import FrozenClock
    from engine.runtime.service import deploy
    from tests.conftest import make_runtime
    from tests.engine.support import apply_data

    past = make_runtime(db_url, FrozenClock(datetime(2026, 9, 1, 2, tzinfo=UTC)))
    with past.uow() as s:
        demo.seed(s, past.now(), password=None)
    deploy(past, [SAMPLE_BPMN], SAMPLE_FORMS)
    with past.uow() as s:
        street = load_actor(s, "street")
    case = past.start_case("sample_review", "PK-JP-XC-01", street)
    past.complete_task(case.tasks[0]["id"], street, apply_data(amount=5000, days=1))  # due in September
    _common.STATE.db = db_url
    stop = start_timer_thread(0.2)
    try:
        for _ in range(50):
            if past.get_case(case.case_number, street).status == "completed":
                break
            time.sleep(0.2)
    finally:
        stop.set()
        _common.STATE.db = None
    assert past.get_case(case.case_number, street).data["escalated"] is True
