"""Transport hardening, as one ASGI middleware around the whole app:

- request bodies within limits (413 over size; 422 for JSON nested too deep, with NUL characters,
  over-long text or non-finite numbers; the same checks on url-encoded forms), refused before any
  handler runs, so nothing is stored;
- security headers on every response, error pages included: Content-Security-Policy,
  X-Content-Type-Options, X-Frame-Options, Referrer-Policy, and HSTS when served over HTTPS.

Errors have the API's one shape {code, message, message_zh, details}.
"""
from __future__ import annotations

import json
from urllib.parse import parse_qsl, quote

from engine.attachments import safe_filename
from engine.runtime.errors import HongwuError
from engine.runtime.limits import TooLarge, data_problems, limits, parse_json

# Scripts only from this site (no inline handlers); inline style attributes are allowed (layout
# only). Swagger UI at /api/docs loads from its CDN and is exempt.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
       "frame-ancestors 'none'")
HSTS = "max-age=31536000"
BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def _is_json(ctype: str) -> bool:
    base = ctype.split(";", 1)[0].strip().lower()
    return base == "application/json" or base.endswith("+json")


def error_body(exc: HongwuError) -> dict:
    return {"code": exc.code, "message": exc.message, "message_zh": exc.message_zh, "details": exc.details}


class Hardening:
    def __init__(self, app, https: bool = False):
        self.app = app
        self.https = https  # the public base URL is https (behind a proxy that terminates TLS)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        send = self._with_headers(scope, send)
        if scope["method"] not in BODY_METHODS:
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        lim = limits()
        try:
            declared = int(headers.get("content-length", "0") or 0)
        except ValueError:
            declared = 0
        if declared > lim.max_body_bytes:
            return await self._refuse(scope, send, self._too_large(lim.max_body_bytes))
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > lim.max_body_bytes:  # a missing or false Content-Length
                return await self._refuse(scope, send, self._too_large(lim.max_body_bytes))
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        problem = self._check(headers.get("content-type", ""), body)
        if problem is not None:
            return await self._refuse(scope, send, problem)
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return await self.app(scope, replay, send)

    @staticmethod
    def _too_large(limit: int) -> HongwuError:
        return TooLarge(f"request body larger than {limit} bytes", f"请求内容过大（上限 {limit // 1024 // 1024} MB）")

    @staticmethod
    def _check(ctype: str, body: bytes) -> HongwuError | None:
        stripped = body.lstrip()
        try:
            if _is_json(ctype) or (not ctype and stripped[:1] in (b"{", b"[")):
                if stripped:
                    parse_json(body)
            elif ctype.split(";", 1)[0].strip().lower() == "application/x-www-form-urlencoded":
                try:
                    pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=5000)
                except (UnicodeDecodeError, ValueError):
                    return HongwuError("the form is malformed or has too many fields", "表单格式错误或字段过多")
                # Pair by pair: a field may repeat (check boxes), and every value counts.
                problems = next((p for p in (data_problems({k: v}) for k, v in pairs) if p), [])
                if problems:
                    p = problems[0]
                    exc = HongwuError(p["message"], p["message_zh"], details=problems)
                    exc.code = "validation_failed"
                    return exc
        except HongwuError as exc:
            return exc
        return None

    async def _refuse(self, scope, send, exc: HongwuError) -> None:
        status = 413 if isinstance(exc, TooLarge) else 422
        path = scope.get("path", "")
        if path.startswith("/api"):
            payload = json.dumps(error_body(exc), ensure_ascii=False).encode("utf-8")
            ctype = b"application/json"
        else:
            from html import escape

            payload = (f'<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>提交被拒绝</title>'
                       f'<h1>提交被拒绝</h1><p>{escape(exc.message_zh)}</p><p><a href="/">返回首页</a></p></html>'
                       ).encode()
            ctype = b"text/html; charset=utf-8"
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", ctype), (b"content-length", str(len(payload)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": payload})

    def _with_headers(self, scope, send):
        https = self.https or scope.get("scheme") == "https"
        docs = scope.get("path", "").startswith("/api/docs")

        async def sending(message):
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
                         (b"referrer-policy", b"same-origin")]
                if not docs:
                    extra.append((b"content-security-policy", CSP.encode()))
                if https:
                    extra.append((b"strict-transport-security", HSTS.encode()))
                message = dict(message)
                message["headers"] = list(message.get("headers", [])) + [(k, v) for k, v in extra if k not in present]
            await send(message)

        return sending


def content_disposition(filename: str, inline: bool = False) -> str:
    """A Content-Disposition value that can name only a bare file: an ASCII fallback for old
    clients and the exact UTF-8 name (RFC 6266 / 5987), both without any path."""
    name = safe_filename(filename)
    ascii_name = "".join(c if 32 <= ord(c) < 127 and c not in '\\"%;' else "_" for c in name)
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"
