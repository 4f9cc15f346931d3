"""The service layer's errors, defined in `engine.errors` (the domain raises them too)."""
from engine.errors import (
    Conflict,
    DeployError,
    Forbidden,
    HongwuError,
    NotFound,
    RuleRefused,
    ScriptRefused,
    ValidationFailed,
)

__all__ = ["Conflict", "DeployError", "Forbidden", "HongwuError", "NotFound", "RuleRefused", "ScriptRefused",
           "ValidationFailed"]
