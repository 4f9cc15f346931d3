"""Per-request plumbing shared by the page and API routers: who is asking, their CSRF token,
template rendering and how service-layer errors become HTTP answers."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from engine.config import CIVIL_TZ
from engine.runtime import accounts
from engine.runtime.actors import Actor
from engine.runtime.errors import Conflict, DeployError, Forbidden, HongwuError, NotFound, ValidationFailed
from engine.runtime.limits import TooLarge
from engine.runtime.roles import ROLES
from engine.runtime.storage_errors import InputNotStorable, StorageError

from .labels import PROCESS_ZH
from .security import SessionCodec, SessionData

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATUS = {NotFound: 404, Forbidden: 403, Conflict: 409, TooLarge: 413, ValidationFailed: 422, DeployError: 422}
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
STATUS_ZH = {"running": "办理中", "suspended": "已暂停", "completed": "已办结", "cancelled": "已撤销", "error": "异常"}
# Roles that see the street dashboard (their jurisdiction must also cover the street).
DASHBOARD_ROLES = {"street_staff", "street_party_committee", "district_mediator", "auditor", "admin"}
AUDIT_ROLES = {"auditor", "admin"}


class LoginRequired(Exception):
    """No (valid) session: pages redirect to the login page, the API answers 401."""


class CsrfFailed(Exception):
    """A state-changing request without the session's CSRF token."""


class RoleRefused(Exception):
    """The page or endpoint is not for this role at all (403)."""

    def __init__(self, message_zh: str = "当前角色无权访问此页面", message: str = "your role may not use this page"):
        super().__init__(message)
        self.message_zh, self.message = message_zh, message


@dataclass(frozen=True)
class Viewer:
    """The logged-in user as pages see them."""

    actor: Actor
    username: str
    display_name: str
    role: str
    jurisdiction_code: str | None
    jurisdiction_name: str
    csrf: str

    @property
    def role_zh(self) -> str:
        return ROLES.get(self.role, self.role)

    @property
    def read_only(self) -> bool:
        return self.actor.read_only

    @property
    def user_id(self) -> int:
        """The account behind the session (a viewer is a person, never the system actor)."""
        if self.actor.user_id is None:
            raise RuntimeError(f"viewer {self.username} has no user account")
        return self.actor.user_id

    def may_act_on(self, task: dict) -> bool:
        return not self.read_only and task.get("role") == self.role

    def require(self, roles: set[str]) -> None:
        if self.role not in roles:
            raise RoleRefused()


def session_of(request: Request) -> SessionData:
    return request.state.session


def codec(request: Request) -> SessionCodec:
    return request.app.state.session_codec


def _viewer(request: Request) -> Viewer | None:
    cached: Any = getattr(request.state, "viewer", False)  # False: not looked up yet in this request
    if cached is not False:
        return cached
    sess = session_of(request)
    viewer = None
    if sess.uid is not None:
        found = accounts.session_user(request.app.state.runtime, sess.uid, sess.version)
        if found is not None:
            user, actor = found
            j = user.jurisdiction
            viewer = Viewer(actor, user.username, user.display_name, user.role, j.code if j else None,
                            j.name if j else "全部", codec(request).csrf_token(sess.sid))
    request.state.viewer = viewer
    return viewer


def optional_viewer(request: Request) -> Viewer | None:
    return _viewer(request)


def viewer(request: Request) -> Viewer:
    """Dependency: the logged-in user; state-changing requests must carry the CSRF token
    (form field `csrf_token` on pages, header `X-CSRF-Token` on the API)."""
    v = _viewer(request)
    if v is None:
        raise LoginRequired()
    return v


async def check_csrf(request: Request) -> None:
    """Dependency for every state-changing route (also the login form)."""
    if request.method not in UNSAFE_METHODS:
        return
    token = request.headers.get("x-csrf-token")
    if token is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        field = form.get("csrf_token")
        token = field if isinstance(field, str) else None
    if not codec(request).check_csrf(session_of(request).sid, token if isinstance(token, str) else None):
        raise CsrfFailed()


def runtime(request: Request):
    return request.app.state.runtime


def client_address(request: Request) -> str | None:
    """The client's address as the server sees it (uvicorn applies trusted proxy headers)."""
    return request.client.host if request.client else None


def start_session(request: Request, user) -> None:
    """A new session for `user` (a new id: no session fixation; the CSRF token changes with it)."""
    request.state.session = codec(request).new(user.id, user.session_version)
    request.state.session_dirty = True
    request.state.viewer = False


def end_user_sessions(request: Request, v: Viewer, action: str = "logout") -> None:
    """Log out: every session of the user ends (all their cookies), recorded in their chain."""
    accounts.logout(runtime(request), v.actor, v.username, action)
    request.state.session = codec(request).new(None)
    request.state.session_dirty = True
    request.state.viewer = None


# --- templates -------------------------------------------------------------------------


def _local(value: Any) -> datetime | str:
    """A stored time (datetime or ISO text) in Beijing time; text that is no time comes back as is."""
    if value in (None, ""):
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    return value.astimezone(CIVIL_TZ) if value.tzinfo else value


def local_time(value: Any, fmt: str = "%Y-%m-%d %H:%M") -> str:
    local = _local(value)
    return local if isinstance(local, str) else local.strftime(fmt)


def deadline_time(value: Any) -> str:
    """A due time as a person reads a period's end: one ending at midnight Beijing time is shown
    as 24:00 of its last day (Civil Code Art. 203), not 00:00 of the day after."""
    local = _local(value)
    if isinstance(local, str):
        return local
    if (local.hour, local.minute, local.second) == (0, 0, 0):
        return f"{(local - timedelta(days=1)):%Y-%m-%d} 24:00"
    return local.strftime("%Y-%m-%d %H:%M")


def pretty_json(value: Any) -> str:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return value
    return json.dumps(value, ensure_ascii=False, indent=1, sort_keys=True, default=str)


def training_database(app) -> bool:
    """Whether the app serves a training database, read once: the flag is fixed when the database
    is created (a database with cases never gains it)."""
    known = getattr(app.state, "training", None)
    if known is None:
        known = app.state.training = app.state.runtime.is_training()
    return known


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
    env = templates.env
    env.autoescape = True
    env.filters["localtime"] = local_time
    env.filters["deadline"] = deadline_time
    env.filters["pretty_json"] = pretty_json
    from engine.runtime.search import SHORT_TERM_SCAN

    env.globals.update(NO_INBOX_ROLES=NO_INBOX_ROLES, SHORT_TERM_SCAN=SHORT_TERM_SCAN, ROLES=ROLES, STATUS_ZH=STATUS_ZH, PROCESS_ZH=PROCESS_ZH, DASHBOARD_ROLES=DASHBOARD_ROLES,
                       AUDIT_ROLES=AUDIT_ROLES)
    return templates


# Roles without an inbox: they read, they do not handle steps.
NO_INBOX_ROLES = {"auditor", "admin"}
BADGE_MAX = 99


def inbox_badge(request: Request, v: Viewer | None) -> dict[str, int | str]:
    """Open and overdue task counts for the navigation's badge; above BADGE_MAX it reads "99+"."""
    if v is None or v.role in NO_INBOX_ROLES:
        return {}
    rt = request.app.state.runtime
    try:
        n, overdue = rt.task_badge(v.actor, up_to=BADGE_MAX + 1)
        return {"inbox_count": n if n <= BADGE_MAX else f"{BADGE_MAX}+", "inbox_overdue": int(overdue)}
    except StorageError:  # the badge must never take a page (or an error page) down with it
        return {}


def notification_badge(request: Request, v: Viewer | None) -> dict[str, Any]:
    """Unread notifications for the top bar's 通知 link; above BADGE_MAX it reads "99+"."""
    if v is None:
        return {}
    from engine.notifications.service import Notifications

    try:
        n = Notifications(request.app.state.runtime).unread_count(v.actor)
    except StorageError:  # like the inbox badge: never takes a page down
        return {}
    return {"notification_count": n if n <= BADGE_MAX else f"{BADGE_MAX}+"}


def render(request: Request, template: str, context: dict[str, Any] | None = None,
           status_code: int = 200) -> HTMLResponse:
    v = _viewer(request)
    ctx = {"viewer": v, "now": request.app.state.runtime.now(), **inbox_badge(request, v),
           **notification_badge(request, v), **(context or {})}
    sess = session_of(request)
    ctx.setdefault("csrf", codec(request).csrf_token(sess.sid))
    return request.app.state.templates.TemplateResponse(request, template, ctx, status_code=status_code)


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path == "/api"


def error_payload(exc: HongwuError) -> dict[str, Any]:
    return {"code": exc.code, "message": exc.message, "message_zh": exc.message_zh, "details": exc.details}


def status_for(exc: HongwuError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


# Pages answer HTTP-level errors (unknown address, wrong method, malformed query) in Chinese.
PAGE_ZH = {400: "请求有误", 401: "请先登录", 403: "当前角色无权访问此页面", 404: "您要找的页面不存在",
           405: "此页面不支持这种操作方式", 409: "操作冲突，请刷新后重试", 413: "上传的内容过大",
           422: "网址中的参数不正确", 429: "操作过于频繁，请稍后再试", 500: "服务器出错了，操作未完成"}


def error_page(request: Request, status: int, error: HongwuError) -> HTMLResponse:
    return render(request, "error.html", {"status": status, "error": error}, status_code=status)


HTTP_ZH = {400: ("bad_request", "请求格式错误"), 401: ("unauthenticated", "请先登录"), 403: ("forbidden", "无权操作"),
           404: ("not_found", "请求的地址不存在"), 405: ("method_not_allowed", "不支持该请求方法"),
           413: ("too_large", "请求内容过大"), 415: ("unsupported_media_type", "不支持的内容类型"),
           422: ("validation_failed", "提交的内容有误")}
# Pydantic error types → what a person is told (the English message is kept alongside).
VALIDATION_ZH = {"missing": "缺少必填项", "json_invalid": "请求内容不是有效的 JSON", "string_too_long": "内容过长",
                 "string_too_short": "内容过短", "string_type": "应为文本", "int_type": "应为整数",
                 "int_parsing": "应为整数", "bool_type": "应为是/否", "bool_parsing": "应为是/否",
                 "dict_type": "应为对象", "list_type": "应为列表", "greater_than_equal": "数值过小",
                 "less_than_equal": "数值过大", "too_long": "条目过多", "model_attributes_type": "应为对象",
                 "string_pattern_mismatch": "格式不正确", "extra_forbidden": "不允许的字段"}


def _validation_details(errors) -> list[dict[str, str]]:
    details = []
    for e in errors:
        loc = [str(p) for p in e.get("loc", ()) if p not in ("body", "query", "path", "header", "cookie")]
        where = ".".join(loc)
        zh = VALIDATION_ZH.get(e.get("type", ""), "取值无效")
        # The offending input is not echoed back: it may be huge, or someone else's data.
        details.append({"field": where, "message": f"{where or 'request'}: {e.get('msg', '')}",
                        "message_zh": f"{where + '：' if where else ''}{zh}"})
    return details


def install_error_handlers(app) -> None:
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException as StarletteHTTPException

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        details = _validation_details(exc.errors())
        bad = ValidationFailed("request is invalid: " + "; ".join(d["message"] for d in details),
                               "提交的内容有误：" + "；".join(d["message_zh"] for d in details), details=details)
        if is_api(request):
            return JSONResponse(error_payload(bad), status_code=422)
        # The parameter names are English identifiers: the page says what to do instead.
        return error_page(request, 422, HongwuError("malformed request",
                                                    PAGE_ZH[422] + "，请从页面上的链接或表单重新进入。"))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        status = exc.status_code
        detail = exc.detail if isinstance(exc.detail, str) else ""
        code, zh = HTTP_ZH.get(status, ("error", "请求无法处理"))
        # The multipart parser's own limits (a form part over 1 MB, too many fields or files).
        if status == 400 and ("maximum size" in detail or "Too many" in detail):
            status, code = 413, "too_large"
            zh = "表单中某一栏内容超过 1 MB 的上限" if "maximum size" in detail else "表单字段或文件过多"
        err = HongwuError(detail or code, zh)
        err.code = code
        if is_api(request):
            return JSONResponse(error_payload(err), status_code=status, headers=getattr(exc, "headers", None))
        page = HongwuError(detail or code, zh if status in (400, 413) else PAGE_ZH.get(status, zh))
        response = error_page(request, status, page)
        for k, val in (getattr(exc, "headers", None) or {}).items():
            response.headers[k] = val
        return response

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception):
        # Starlette re-raises after answering, so the server logs the trace; the person gets a
        # Chinese page (the API a JSON body), never the trace.
        bad = HongwuError("internal server error", PAGE_ZH[500] + "。请稍后重试；如再次出现，请联系系统管理员。")
        bad.code = "internal"
        if is_api(request):
            return JSONResponse(error_payload(bad), status_code=500)
        # Rendered without the session user: the database may be what failed.
        return request.app.state.templates.TemplateResponse(
            request, "error.html", {"status": 500, "error": bad, "viewer": None, "csrf": ""}, status_code=500)

    @app.exception_handler(HongwuError)
    async def _hongwu(request: Request, exc: HongwuError):
        code = status_for(exc)
        if is_api(request):
            return JSONResponse(error_payload(exc), status_code=code)
        return render(request, "error.html", {"status": code, "error": exc}, status_code=code)

    @app.exception_handler(InputNotStorable)
    async def _data(request: Request, exc: InputNotStorable):
        # Input the database cannot hold (NUL characters, out-of-range numbers): the request's
        # fault, and nothing was changed (the unit of work rolled back).
        bad = HongwuError("the input contains characters or numbers the database cannot store",
                          "输入内容包含无法保存的字符或超出范围的数字")
        bad.code = "bad_input"
        if is_api(request):
            return JSONResponse(error_payload(bad), status_code=422)
        return render(request, "error.html", {"status": 422, "error": bad}, status_code=422)

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired):
        if is_api(request):
            return JSONResponse({"code": "unauthenticated", "message": "log in first", "message_zh": "请先登录",
                                 "details": []}, status_code=401)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)

    @app.exception_handler(CsrfFailed)
    async def _csrf(request: Request, exc: CsrfFailed):
        payload = {"code": "csrf", "message": "missing or wrong CSRF token; reload the page",
                   "message_zh": "页面已过期或来源不明（CSRF 校验失败），请刷新后重试", "details": []}
        if is_api(request):
            return JSONResponse(payload, status_code=403)
        return render(request, "error.html", {"status": 403, "error": HongwuError(str(payload["message"]), str(payload["message_zh"]))},
                      status_code=403)

    @app.exception_handler(RoleRefused)
    async def _role(request: Request, exc: RoleRefused):
        if is_api(request):
            return JSONResponse({"code": "forbidden", "message": exc.message, "message_zh": exc.message_zh,
                                 "details": []}, status_code=403)
        return render(request, "error.html", {"status": 403, "error": HongwuError(exc.message, exc.message_zh)},
                      status_code=403)
