"""Input limits, one set for every route in (web form, JSON API, CLI, intake).

Configurable through the environment (read once per process):
HONGWU_MAX_BODY_BYTES   whole request body (default 25 MiB: a 20 MiB attachment plus the form)
HONGWU_MAX_JSON_BYTES   a JSON request body (default 2 MiB)
HONGWU_MAX_FIELD_CHARS  one text value (default 50,000 characters)
HONGWU_MAX_JSON_DEPTH   nesting of objects and lists (default 32)

`check_data` is a pure function over already-decoded data; `parse_json` decodes a request body
without ever overflowing the stack or producing infinities.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .errors import ValidationFailed


@dataclass(frozen=True)
class Limits:
    max_body_bytes: int = 25 * 1024 * 1024
    max_json_bytes: int = 2 * 1024 * 1024
    max_field_chars: int = 50_000
    max_json_depth: int = 32


@lru_cache(maxsize=1)
def limits() -> Limits:
    env = os.environ
    d = Limits()
    return Limits(
        max_body_bytes=int(env.get("HONGWU_MAX_BODY_BYTES", d.max_body_bytes)),
        max_json_bytes=int(env.get("HONGWU_MAX_JSON_BYTES", d.max_json_bytes)),
        max_field_chars=int(env.get("HONGWU_MAX_FIELD_CHARS", d.max_field_chars)),
        max_json_depth=int(env.get("HONGWU_MAX_JSON_DEPTH", d.max_json_depth)),
    )


class TooLarge(ValidationFailed):
    """The request body is over the limit (HTTP 413)."""

    code = "too_large"


def _problem(path: str, message: str, message_zh: str) -> dict[str, str]:
    return {"field": path, "message": f"{path or 'body'}: {message}", "message_zh": f"{path or '请求内容'}：{message_zh}"}


def data_problems(value: Any, lim: Limits | None = None) -> list[dict[str, str]]:
    """Problems of decoded input: nesting too deep, NUL characters, over-long text, infinite or
    NaN numbers. Walks iteratively (the input may be hostile); stops at the first problem."""
    lim = lim or limits()
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        v, path, depth = stack.pop()
        if isinstance(v, str):
            if "\x00" in v:
                return [_problem(path, "contains a NUL character", "含有非法的空字符（NUL）")]
            if len(v) > lim.max_field_chars:
                return [_problem(path, f"longer than {lim.max_field_chars} characters",
                                 f"内容超过 {lim.max_field_chars} 个字符")]
        elif isinstance(v, float):
            if not math.isfinite(v):
                return [_problem(path, "is not a finite number", "不是有效的数字（超出范围）")]
        elif isinstance(v, (dict, list, tuple)):
            if depth >= lim.max_json_depth:
                return [_problem(path, f"nested more than {lim.max_json_depth} levels deep",
                                 f"嵌套超过 {lim.max_json_depth} 层")]
            items = v.items() if isinstance(v, dict) else enumerate(v)
            for k, child in items:
                if isinstance(k, str) and ("\x00" in k or len(k) > 200):
                    return [_problem(path, "has an invalid key", "含有无效的字段名")]
                stack.append((child, f"{path}.{k}" if path else str(k), depth + 1))
    return []


def _refused(path: str, message: str, message_zh: str) -> ValidationFailed:
    p = _problem(path, message, message_zh)
    return ValidationFailed(p["message"], p["message_zh"], details=[p])


def check_data(value: Any, lim: Limits | None = None) -> None:
    problems = data_problems(value, lim)
    if problems:
        p = problems[0]
        raise ValidationFailed(p["message"], p["message_zh"], details=problems)


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not allowed")


def parse_json(raw: bytes, lim: Limits | None = None) -> Any:
    """Decode a JSON request body within the limits, or raise ValidationFailed / TooLarge."""
    lim = lim or limits()
    if len(raw) > lim.max_json_bytes:
        raise TooLarge(f"JSON body larger than {lim.max_json_bytes} bytes",
                       f"请求内容超过 {lim.max_json_bytes // 1024} KB 的上限")
    try:
        value = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
    except RecursionError:
        raise _refused("", f"JSON nested more than {lim.max_json_depth} levels deep",
                       f"嵌套超过 {lim.max_json_depth} 层") from None
    except UnicodeDecodeError:
        raise _refused("", "the body is not UTF-8", "不是 UTF-8 编码") from None
    except json.JSONDecodeError as exc:
        raise ValidationFailed(f"the body is not valid JSON: {exc}",
                               f"请求体不是有效的 JSON（第 {exc.lineno} 行第 {exc.colno} 列）",
                               details=[{"field": "", "message": f"not valid JSON: {exc}",
                                         "message_zh": "请求体不是有效的 JSON"}]) from None
    except ValueError as exc:  # NaN/Infinity, an integer with too many digits
        raise _refused("", f"the body is not acceptable JSON: {exc}", "含有无效的数字（NaN、无穷大或位数过多）") from None
    check_data(value, lim)
    return value
