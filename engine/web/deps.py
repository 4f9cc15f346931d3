"""The request dependencies the routers declare, as typed `Annotated` aliases: a handler says
`v: CurrentViewer` and both FastAPI (which resolves the dependency) and the type checker (which
sees a `Viewer`) read the same declaration."""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from .context import Viewer, viewer

# The logged-in user; a state-changing request must also carry the CSRF token (see context.viewer).
CurrentViewer = Annotated[Viewer, Depends(viewer)]