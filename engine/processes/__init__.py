"""The built-in processes: the entry point the registry imports (`engine.runtime.registry`).

Each process package declares one `DESCRIPTOR` (key, case prefix, starters, title, labels,
settings, notice kinds, report, demo cases, invariants) and registers its service tasks, pick
lists and panels with the runtime's decorators. `common` and `notices` hold service tasks every
process may call. Importing this package imports them all; the registry collects `DESCRIPTORS`.
"""
from __future__ import annotations

from . import common, notices  # noqa: F401  (shared service tasks register on import)
from .committee import DESCRIPTOR as COMMITTEE
from .mediation import DESCRIPTOR as MEDIATION
from .prior_review import DESCRIPTOR as PRIOR_REVIEW

DESCRIPTORS = (COMMITTEE, PRIOR_REVIEW, MEDIATION)
