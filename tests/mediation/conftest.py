import pytest

from tests.mediation.support import deploy_mediation


@pytest.fixture
def med(runtime):
    """The runtime with the tiered-mediation process deployed."""
    deploy_mediation(runtime)
    return runtime
