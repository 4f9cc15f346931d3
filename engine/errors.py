"""Errors the service layer raises. Each carries a Chinese and an English message.

At the package root and importing nothing from engine, so the domain can raise them without
depending on the runtime."""
from __future__ import annotations


class HongwuError(Exception):
    """Base: bad input or a refused action. Nothing was changed."""

    code = "error"
    # Set by the service layer on a refusal it audits after rolling back: (case id, case number,
    # task title or None).
    refused_on: tuple[int, str, str | None] | None = None

    def __init__(self, message: str, message_zh: str | None = None, *, details: list | None = None):
        super().__init__(message)
        self.message = message
        self.message_zh = message_zh or message
        self.details = details or []

    def __str__(self) -> str:
        if self.message_zh and self.message_zh != self.message:
            return f"{self.message_zh} ({self.message})"
        return self.message


class NotFound(HongwuError):
    code = "not_found"


class ValidationFailed(HongwuError):
    """Form data or an uploaded file failed validation; `details` lists one entry per problem."""

    code = "validation_failed"


class RuleRefused(ValidationFailed):
    """A process rule refused the input (e.g. nominating an owner the negative list excluded).
    Unlike a typing mistake, the attempt itself is recorded on the case's audit chain."""

    code = "rule_refused"


class Conflict(HongwuError):
    """Someone else changed the case first (stale version) or the task is no longer open."""

    code = "conflict"


class Forbidden(HongwuError):
    code = "forbidden"


class DeployError(HongwuError):
    """A process definition failed validation; `details` name file and element."""

    code = "deploy_error"


class ScriptRefused(DeployError):
    code = "script_refused"
