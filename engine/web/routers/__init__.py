"""Extra routers: every module here that defines `router` (a FastAPI APIRouter) is included by
`engine.web.app.create_app`, so a process can add its own endpoints without touching the app."""
