"""The FastAPI application factory.

`create_app(settings, clock)` builds one app bound to one database: the service-layer `Runtime`
sits at `app.state.runtime`. Pages live in one router per area; every module in
`engine/web/routers/` that defines `router` is included too.
"""
from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles

from engine.config import PROJECT_ROOT, Settings, load_settings
from engine.runtime.clock import Clock

from .context import install_error_handlers, make_templates, training_database
from .hardening import Hardening
from .security import COOKIE, SESSION_MAX_AGE, SessionCodec

STATIC_DIR = Path(__file__).parent / "static"
# bpmn-js is installed by set-up (npm); it is served straight from node_modules.
VENDOR_DIRS = {"bpmn-js": PROJECT_ROOT / "node_modules" / "bpmn-js" / "dist",
               "jsqr": PROJECT_ROOT / "node_modules" / "jsqr" / "dist"}
AREAS = ("auth", "inbox", "tasks", "cases", "documents", "audit_pages", "audit_export", "admin", "dashboard", "verify", "api")

OPENAPI_TAGS = [
    {"name": "session", "description": "登录 / 退出 (log in / out)"},
    {"name": "tasks", "description": "待办任务 (tasks)"},
    {"name": "cases", "description": "案件 (cases)"},
    {"name": "audit", "description": "审计 (audit history)"},
    {"name": "public", "description": "公开核验 (public verification)"},
]


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    from engine.runtime import registry
    from engine.runtime.service import Runtime

    registry.load()  # the processes (engine.processes and HONGWU_PROCESS_PACKAGES): a broken one fails here
    settings = settings or load_settings()
    app = FastAPI(title="hongwu 红物 API", version="1", openapi_tags=OPENAPI_TAGS,
                  description="红色物业流程引擎：待办、案件、审计与公开核验接口。会话用 Cookie；"
                              "写操作须带 X-CSRF-Token 头（登录后由 /api/session 返回）。",
                  docs_url="/api/docs", redoc_url=None)
    app.state.runtime = Runtime(settings, clock)
    app.state.settings = settings
    app.state.session_codec = SessionCodec(settings.secret_key)
    app.state.templates = make_templates()
    app.state.templates.env.globals["is_training"] = lambda: training_database(app)
    secure_cookie = settings.base_url.startswith("https://")

    @app.middleware("http")
    async def _session(request: Request, call_next):
        if "\x00" in request.url.path or "%00" in request.url.query or "%00" in request.scope.get("raw_path", b"").decode("latin-1"):
            from fastapi.responses import JSONResponse

            payload = {"code": "bad_input", "message": "NUL characters are not allowed in the address",
                       "message_zh": "网址中含有非法字符", "details": []}
            if request.url.path.startswith("/api"):
                return JSONResponse(payload, status_code=400)
            from fastapi.responses import HTMLResponse

            # No session or templates here (the address cannot be trusted): a minimal Chinese page.
            return HTMLResponse('<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>请求有误</title>'
                                '<p>网址中含有非法字符。</p><p><a href="/">返回首页</a></p></html>', status_code=400)
        codec = app.state.session_codec
        sess = codec.loads(request.cookies.get(COOKIE))
        fresh = sess is None
        request.state.session = sess or codec.new()
        request.state.session_dirty = fresh
        created = request.state.session if fresh else None
        response = await call_next(request)
        sess = request.state.session
        quiet_path = request.url.path.startswith(("/static/", "/api/"))
        # A session made up for an anonymous API or asset request is not worth a cookie; one a
        # handler set (login, logout) always is.
        if request.state.session_dirty and not (quiet_path and sess is created):
            response.set_cookie(COOKIE, codec.dumps(sess), max_age=SESSION_MAX_AGE,
                                httponly=True, samesite="lax", secure=secure_cookie, path="/")
        return response  # security headers: engine.web.hardening, on every response

    install_error_handlers(app)
    _document_error_shape(app)
    # Outermost: bodies are checked before any handler (or the session middleware) runs.
    app.add_middleware(Hardening, https=secure_cookie)

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon():
        from fastapi.responses import FileResponse

        return FileResponse(STATIC_DIR / "favicon.ico", media_type="image/x-icon",
                            headers={"Cache-Control": "public, max-age=86400"})

    app.mount("/static/app", StaticFiles(directory=str(STATIC_DIR)), name="static")
    for name, path in VENDOR_DIRS.items():
        if path.is_dir():
            app.mount(f"/static/vendor/{name}", StaticFiles(directory=str(path)), name=f"vendor-{name}")
    for area in AREAS:
        app.include_router(importlib.import_module(f"{__package__}.{area}").router)
    for router in extra_routers():
        app.include_router(router)
    return app


def _document_error_shape(app: FastAPI) -> None:
    """The published schema says what validation errors really look like (see install_error_handlers)."""
    build = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = build()
            from .api import ErrorOut

            shapes = schema.get("components", {}).get("schemas", {})
            if "HTTPValidationError" in shapes:
                shapes["HTTPValidationError"] = ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
                shapes["HTTPValidationError"]["title"] = "HTTPValidationError"
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to customise the schema


def extra_routers() -> list:
    """`router` of every module in engine/web/routers/ (sorted by module name)."""
    from . import routers as pkg

    found = []
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{pkg.__name__}.{info.name}")
        router = getattr(module, "router", None)
        if router is not None:
            found.append(router)
    return found


def app_from_env() -> FastAPI:
    """Factory for `uvicorn --factory` (used by `hongwu serve`): settings from the environment."""
    return create_app()
