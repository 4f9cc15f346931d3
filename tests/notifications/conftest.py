import pytest

from engine.runtime.service import deploy
from tests.engine.support import SAMPLE_BPMN, SAMPLE_FORMS


@pytest.fixture
def sample(runtime):
    """The runtime with the sample review process deployed (street → community party review)."""
    deploy(runtime, [SAMPLE_BPMN], SAMPLE_FORMS)
    return runtime


@pytest.fixture
def service(runtime):
    from engine.notifications.service import Notifications

    return Notifications(runtime)
