import pytest

from tests.conftest import make_runtime
from tests.web.support import deploy_test_processes, seed_demo


@pytest.fixture
def web_rt(db_url, clock):
    """A runtime on a fresh database: demo orgs and users (demo password), test processes deployed."""
    rt = make_runtime(db_url, clock)
    seed_demo(rt)
    deploy_test_processes(rt)
    return rt


@pytest.fixture
def app(web_rt, clock):
    from engine.web.app import create_app

    return create_app(web_rt.settings, clock)


@pytest.fixture(scope="module")
def browser():
    """One headless chromium per test module (the browser tests and the journeys share it)."""
    from tests.web.browser_support import chromium

    with chromium() as b:
        yield b
