"""Web fixtures for the reliability probes (the same set-up as tests/web)."""
import pytest

from tests.conftest import make_runtime
from tests.web.support import deploy_test_processes, seed_demo


@pytest.fixture
def web_rt(db_url, clock):
    rt = make_runtime(db_url, clock)
    seed_demo(rt)
    deploy_test_processes(rt)
    return rt


@pytest.fixture
def app(web_rt, clock):
    from engine.web.app import create_app

    return create_app(web_rt.settings, clock)


def api_client(app, username="street"):
    """A TestClient logged in through the API, sending the CSRF header on writes."""
    from fastapi.testclient import TestClient

    c = TestClient(app)
    r = c.post("/api/session", json={"username": username, "password": "hongwu-demo"})
    assert r.status_code == 200, r.text
    c.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    return c
