from pathlib import Path

import pytest

from engine.runtime.service import deploy
from tests.engine.support import SAMPLE_FORMS
from tests.web.conftest import app, web_rt  # noqa: F401 - the web tests' fixtures, for the probes through the app

PARALLEL_TIMER_BPMN = Path(__file__).resolve().parent.parent / "fixtures" / "reliability" / "parallel_timer.bpmn"


@pytest.fixture
def parallel(runtime):
    """The runtime with the parallel-tasks-and-timer process deployed."""
    deploy(runtime, [PARALLEL_TIMER_BPMN], SAMPLE_FORMS)
    return runtime


def api_login(client, username: str, password: str | None = None):
    from engine import demo

    return client.post("/api/session", json={"username": username, "password": password or demo.DEMO_PASSWORD})
