import pytest

from tests.prior_review.support import deploy_prior_review


@pytest.fixture
def prt(runtime):
    """The runtime with bpmn/prior_review.bpmn deployed."""
    deploy_prior_review(runtime)
    return runtime
