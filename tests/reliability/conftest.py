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
