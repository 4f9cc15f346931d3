from pathlib import Path

import pytest

from engine.runtime.service import deploy
from tests.engine.support import SAMPLE_FORMS

PARALLEL_TIMER_BPMN = Path(__file__).resolve().parent.parent / "fixtures" / "reliability" / "parallel_timer.bpmn"


@pytest.fixture
def parallel(runtime):
    """The runtime with the parallel-tasks-and-timer process deployed."""
    deploy(runtime, [PARALLEL_TIMER_BPMN], SAMPLE_FORMS)
    return runtime


@pytest.fixture
def web_rt(db_url, clock):
    """Demo orgs and users (demo password) and the test processes, for tests through the web app."""
    from tests.conftest import make_runtime
    from tests.web.support import deploy_test_processes, seed_demo

    rt = make_runtime(db_url, clock)
    seed_demo(rt)
    deploy_test_processes(rt)
    return rt


@pytest.fixture
def app(web_rt, clock):
    from engine.web.app import create_app

    return create_app(web_rt.settings, clock)


def api_login(client, username: str, password: str | None = None):
    from engine import demo

    return client.post("/api/session", json={"username": username, "password": password or demo.DEMO_PASSWORD})
