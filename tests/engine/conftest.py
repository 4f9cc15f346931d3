import pytest

from engine.runtime.service import deploy
from tests.engine.support import SAMPLE_BPMN, SAMPLE_FORMS


@pytest.fixture
def sample(runtime):
    """The runtime with the sample review process deployed."""
    deploy(runtime, [SAMPLE_BPMN], SAMPLE_FORMS)
    return runtime
