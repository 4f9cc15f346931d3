"""Restricted scripting for BPMN scripts, gateway conditions, timer expressions and DMN cells.

Every piece of code in a process definition is compiled with RestrictedPython's
`compile_restricted_*` (which refuses dunder attribute access such as
`().__class__.__base__.__subclasses__()` at compile time) and run with its guards. Service tasks
never run code: they call functions registered in `engine.runtime.services`.

Limits. Code runs under a time limit and a memory limit (checked at ticks the compiler places in
every loop and function: elapsed time at each, the process's resident memory every few hundred), and the
operations that could build a huge value in one C-level step — `**`, `*`, `<<`, `+`, `%`, padding
and replacing strings, `sum` — are checked before they run. Constant expressions that break these
bounds (`10**10**10`, `'a'*10**10`) are refused at deploy. A breach ends the script with
`ScriptLimitExceeded` (a clear error; the unit of work rolls back at once). A script's result is
also measured: task data larger than `MAX_DATA_UNITS` when written out is refused.
"""
from __future__ import annotations

import ast
import json
import re
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from types import SimpleNamespace
from typing import Any, cast

from RestrictedPython import (
    compile_restricted_eval,
    compile_restricted_exec,
    limited_builtins,
    safe_builtins,
    utility_builtins,
)
from RestrictedPython.Eval import default_guarded_getitem, default_guarded_getiter
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safer_getattr,
)
from RestrictedPython.transformer import RestrictingNodeTransformer
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment

from . import services
from .errors import ScriptRefused, ValidationFailed

SCRIPT_FILENAMES = frozenset({"<bpmn-script>", "<bpmn-expression>"})
MAX_ITEMS = 1_000_000  # characters of a string, items of a list, built by one operation
MAX_INT_BITS = 100_000  # about 30,000 decimal digits
MAX_FORMAT_WIDTH = 10_000  # widths and precisions in format strings
MAX_DATA_UNITS = 4_000_000  # task data a script leaves, counted as written out (characters + items)


@dataclass(frozen=True)
class ScriptLimits:
    seconds: float = 2.0  # per script or expression
    memory_mb: int = 512  # growth of the process's resident memory while it runs


class ScriptLimitExceeded(ValidationFailed):
    """A script, condition, timer expression or DMN cell broke a limit; nothing was saved."""

    code = "script_limit"


class _Breach(BaseException):
    """Raised inside a script. A BaseException, so that a script's own `except Exception` cannot
    swallow it (bare `except:` is refused at deploy, and BaseException is not in the builtins)."""

    def __init__(self, message: str, message_zh: str):
        super().__init__(message)
        self.message, self.message_zh = message, message_zh


def _too_big(what: str, what_zh: str) -> _Breach:
    return _Breach(f"the script would build a value too large: {what}", f"脚本将生成过大的数据：{what_zh}")


def _check_pow(a: Any, b: Any) -> None:
    if isinstance(a, int) and isinstance(b, int) and b > 0 and abs(a) > 1:
        if b > MAX_INT_BITS or b * abs(a).bit_length() > MAX_INT_BITS:
            raise _too_big(f"{a}**{b}", f"幂运算 {a}**{b} 的结果过大")


def _check_mul(a: Any, b: Any) -> None:
    if isinstance(a, int) and isinstance(b, int):
        if a.bit_length() + b.bit_length() > MAX_INT_BITS:
            raise _too_big("integer product", "整数乘积过大")
        return
    seq, n = (a, b) if isinstance(b, int) else (b, a)
    if isinstance(seq, (str, bytes, list, tuple)) and isinstance(n, int) and n > 1:
        # Items of a list count as written out: [[0] * 1000] * 1000 is a million values.
        size = _units(seq, MAX_ITEMS // n + 1)
        if size * n > MAX_ITEMS:
            raise _too_big(f"sequence repeated {n} times", f"序列重复 {n} 次后过长（上限 {MAX_ITEMS:,} 个字符或元素）")


def _check_lshift(a: Any, b: Any) -> None:
    if isinstance(a, int) and isinstance(b, int) and a and b > 0 and a.bit_length() + b > MAX_INT_BITS:
        raise _too_big(f"{a} << {b}", f"移位 {a} << {b} 的结果过大")


def _check_add(a: Any, b: Any) -> None:
    if isinstance(a, (str, bytes, list, tuple)) and isinstance(b, (str, bytes, list, tuple)):
        if len(a) + len(b) > MAX_ITEMS:
            raise _too_big("concatenation", f"拼接结果过长（上限 {MAX_ITEMS:,} 个字符或元素）")


_PERCENT_FIELD = re.compile(r"%[#0 +-]*(\*|\d+)?(?:\.(\*|\d+))?")
_BRACE_SPEC = re.compile(r"\{[^{}]*:([^{}]*)\}")


def _check_widths(numbers: list[str], dynamic: bool) -> None:
    if dynamic or any(int(n) > MAX_FORMAT_WIDTH for n in numbers if n):
        raise _too_big("format width", f"格式宽度过大或不固定（上限 {MAX_FORMAT_WIDTH}）")


def _check_percent_format(fmt: str) -> None:
    fields = _PERCENT_FIELD.findall(fmt)
    _check_widths([n for f in fields for n in f if n != "*"], any("*" in f for f in fields))


def _check_brace_format(fmt: str) -> None:
    if "{" not in fmt:
        return
    specs = _BRACE_SPEC.findall(fmt)
    nested = re.search(r"\{[^{}]*:[^{}]*\{", fmt) is not None
    _check_widths([n for spec in specs for n in re.findall(r"\d+", spec)], nested)


def _guard_binop(op: str, a: Any, b: Any) -> Any:
    if op == "**":
        _check_pow(a, b)
        return a ** b
    if op == "*":
        _check_mul(a, b)
        return a * b
    if op == "<<":
        _check_lshift(a, b)
        return a << b
    if op == "+":
        _check_add(a, b)
        return a + b
    if op == "%":
        if isinstance(a, (str, bytes)):
            _check_percent_format(a if isinstance(a, str) else a.decode("latin-1"))
        return a % b
    raise SyntaxError(f"operator {op} is not guarded")


def _units(value: Any, budget: int) -> int:
    """How much `value` weighs written out — characters of strings plus items of containers,
    shared parts counted each time they appear — counting only up to just past `budget`."""
    total, stack = 0, [value]
    while stack and total <= budget:
        v = stack.pop()
        if isinstance(v, (str, bytes)):
            total += len(v)
        elif isinstance(v, dict):
            total += len(v)
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, (list, tuple, set, frozenset)):
            total += len(v)
            stack.extend(v)
    return total


def _inplacevar(op: str, x: Any, y: Any) -> Any:
    ops = {
        "+=": lambda a, b: _guard_binop("+", a, b), "-=": lambda a, b: a - b,
        "*=": lambda a, b: _guard_binop("*", a, b), "/=": lambda a, b: a / b, "//=": lambda a, b: a // b,
        "%=": lambda a, b: _guard_binop("%", a, b), "|=": lambda a, b: a | b, "&=": lambda a, b: a & b,
    }
    if op not in ops:
        raise SyntaxError(f"operator {op} is not allowed")
    return ops[op](x, y)


def _sized(method: str, s: Any, fn):
    """A str/bytes method whose result size is checked before it runs."""
    def run(*args, **kwargs):
        if method in ("ljust", "rjust", "center", "zfill"):
            width = args[0] if args else kwargs.get("width", 0)
            if isinstance(width, int) and width > MAX_ITEMS:
                raise _too_big(f"{method}({width})", f"{method} 宽度过大")
        elif method == "expandtabs":
            size = args[0] if args else kwargs.get("tabsize", 8)
            if isinstance(size, int) and len(s) + s.count("\t" if isinstance(s, str) else b"\t") * size > MAX_ITEMS:
                raise _too_big("expandtabs", "expandtabs 结果过长")
        elif method == "replace" and len(args) >= 2:
            old, new = args[0], args[1]
            n = s.count(old) if old else len(s) + 1
            if len(args) > 2 and isinstance(args[2], int) and args[2] >= 0:
                n = min(n, args[2])
            if len(s) + n * (len(new) - len(old)) > MAX_ITEMS:
                raise _too_big("replace", "replace 结果过长")
        elif method in ("format", "format_map") and isinstance(s, str):
            _check_brace_format(s)
        elif method == "join" and args:
            items = list(args[0])
            if sum(len(i) for i in items if isinstance(i, (str, bytes))) + len(s) * len(items) > MAX_ITEMS:
                raise _too_big("join", "join 结果过长")
            return fn(items)
        return fn(*args, **kwargs)
    return run


_SIZED_METHODS = frozenset({"ljust", "rjust", "center", "zfill", "expandtabs", "replace", "format", "format_map",
                            "join"})


def _getattr(obj: Any, name: str, default: Any = None, getattr=safer_getattr) -> Any:
    value = getattr(obj, name, default)
    if isinstance(obj, (str, bytes)) and name in _SIZED_METHODS:
        return _sized(name, obj, value)
    return value


def _sum(iterable, start=0):
    if not isinstance(start, (int, float, complex)):
        raise _Breach("sum() is for numbers in process scripts", "流程脚本中 sum() 只能用于数字")
    return sum(iterable, start)


def _pow(base, exp, mod=None):
    if mod is None:
        _check_pow(base, exp)
    return pow(base, exp, mod)


# The math functions whose cost is bounded by their arguments (no factorial, comb, perm, prod).
_MATH = SimpleNamespace(**{name: getattr(__import__("math"), name) for name in (
    "ceil", "floor", "trunc", "fabs", "sqrt", "isqrt", "exp", "log", "log10", "log2", "isclose", "isfinite",
    "isinf", "isnan", "fsum", "copysign", "fmod", "modf", "hypot", "gcd", "pi", "e", "inf", "nan")})


def _restricted_builtins() -> dict[str, Any]:
    allowed = dict(safe_builtins)
    allowed.update(limited_builtins)
    allowed.update(utility_builtins)
    for name in ("dict", "list", "set", "min", "max", "any", "all", "enumerate", "zip",
                 "sorted", "map", "filter", "reversed"):
        allowed[name] = __builtins__[name] if isinstance(__builtins__, dict) else getattr(__builtins__, name)
    allowed.update(sum=_sum, pow=_pow, math=_MATH)
    # Exceptions a script could use to catch a limit breach; and modules it has no need of.
    for name in ("BaseException", "GeneratorExit", "KeyboardInterrupt", "SystemExit", "random", "whrandom",
                 "string"):
        allowed.pop(name, None)
    return allowed


_running = threading.local()


def _tick() -> None:
    watch = getattr(_running, "watch", None)
    if watch is not None:
        watch.tick()


def _getiter(ob):
    it = default_guarded_getiter(ob)
    watch = getattr(_running, "watch", None)
    if watch is None:
        return it
    return _ticking(it, watch.tick)


def _ticking(it, tick):
    for item in it:
        tick()
        yield item


RESTRICTED_GLOBALS: dict[str, Any] = {
    "__builtins__": _restricted_builtins(),
    "_getattr_": _getattr,
    "_getitem_": default_guarded_getitem,
    "_getiter_": _getiter,
    "_tick_": _tick,
    "_write_": full_write_guard,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_inplacevar_": _inplacevar,
    "_binop_": _guard_binop,
}

_GUARDED_OPS = {ast.Pow: "**", ast.Mult: "*", ast.LShift: "<<", ast.Add: "+", ast.Mod: "%"}


class _LimitingPolicy(RestrictingNodeTransformer):
    """RestrictedPython's checks, plus: size-building operators go through `_binop_`, constant
    ones are checked at compile time, no bare `except:`, no format widths taken from data."""

    def visit_BinOp(self, node: ast.BinOp):
        try:  # before the operands are rewritten into guard calls: then they are no longer constant
            _constant_value(node)
        except _Breach as exc:
            self.error(node, exc.message_zh)
            return node
        node = cast(ast.BinOp, super().visit_BinOp(node))  # RestrictedPython returns the node it was given
        op = _GUARDED_OPS.get(type(node.op))
        if op is None:
            return node
        call = ast.Call(func=ast.Name("_binop_", ast.Load()), args=[ast.Constant(op), node.left, node.right],
                        keywords=[])
        return ast.fix_missing_locations(ast.copy_location(call, node))

    def visit_While(self, node: ast.While):
        node = cast(ast.While, super().visit_While(node))
        node.body.insert(0, _tick_statement(node))
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef):
        node = cast(ast.FunctionDef, super().visit_FunctionDef(node))
        node.body.insert(0, _tick_statement(node))
        return node

    def visit_Lambda(self, node: ast.Lambda):
        node = cast(ast.Lambda, super().visit_Lambda(node))
        # `_tick_() or body`: the tick returns None, so the lambda's value is its body's.
        node.body = ast.fix_missing_locations(ast.copy_location(
            ast.BoolOp(op=ast.Or(), values=[_tick_call(node), node.body]), node.body))
        return node

    def visit_ExceptHandler(self, node: ast.ExceptHandler):
        if node.type is None:
            self.error(node, "不允许不带异常类型的 except:（请写 except Exception:）")
        return super().visit_ExceptHandler(node)

    def visit_FormattedValue(self, node: ast.FormattedValue):
        spec = node.format_spec
        if spec is not None:
            parts = getattr(spec, "values", [])
            if any(not isinstance(p, ast.Constant) for p in parts):
                self.error(node, "f-string 的格式宽度必须是固定值")
            else:
                try:
                    _check_widths(re.findall(r"\d+", "".join(str(p.value) for p in parts)), False)
                except _Breach as exc:
                    self.error(node, exc.message_zh)
        return super().visit_FormattedValue(node)


def _tick_call(where: ast.AST) -> ast.Call:
    return ast.fix_missing_locations(ast.copy_location(
        ast.Call(func=ast.Name("_tick_", ast.Load()), args=[], keywords=[]), where))


def _tick_statement(where: ast.AST) -> ast.Expr:
    return ast.fix_missing_locations(ast.copy_location(ast.Expr(_tick_call(where)), where))


def _constant_value(node: ast.AST) -> Any:
    """The value of a constant (sub)expression, computed only under the same bounds as at run
    time (raising _Breach); None when it is not constant."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        v = _constant_value(node.operand)
        return -v if isinstance(v, (int, float)) else None
    if isinstance(node, ast.BinOp):
        left, right = _constant_value(node.left), _constant_value(node.right)
        if left is None or right is None:
            return None
        op = _GUARDED_OPS.get(type(node.op))
        try:
            if op is not None:
                return _guard_binop(op, left, right)
            if isinstance(node.op, ast.Sub):
                return left - right
        except (ArithmeticError, TypeError, ValueError):
            return None
    return None


class _Watch:
    """Time and memory of one running script, checked at every tick: the compiler puts one at the
    top of every loop body and function body, and every `for` and comprehension ticks per item
    (through `_getiter_`), so no loop or recursion runs unchecked."""

    def __init__(self, limits: ScriptLimits):
        self.deadline = time.monotonic() + limits.seconds
        self.limits = limits
        self.memory_cap: int | None = None  # set at the first memory check: short code never pays for it
        self.ticks = 0

    def tick(self) -> None:
        if time.monotonic() > self.deadline:
            raise _Breach(f"the script ran longer than {self.limits.seconds:g} s",
                          f"脚本运行超过 {self.limits.seconds:g} 秒的时间限制")
        self.ticks += 1
        if self.ticks % 256 == 0 and self._memory_exceeded():
            raise _Breach(f"the script used more than {self.limits.memory_mb} MB",
                          f"脚本占用内存超过 {self.limits.memory_mb} MB 的限制")

    def _memory_exceeded(self) -> bool:
        resident = _resident_bytes()
        if not resident:
            return False
        if self.memory_cap is None:
            self.memory_cap = resident + self.limits.memory_mb * 1024 * 1024
        return resident > self.memory_cap


_PAGE = 4096
try:
    import os as _os

    _PAGE = _os.sysconf("SC_PAGE_SIZE")
except (AttributeError, ValueError, OSError):
    pass


def _resident_bytes() -> int:
    """Resident memory of this process (Linux); 0 where unknown (then only time is watched)."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        return 0


def _run_limited(limits: ScriptLimits, what: str, watched: bool, fn, *args):
    """Run restricted code under `limits`; a breach becomes ScriptLimitExceeded. Code without
    loops, functions or comprehensions (most conditions) cannot run long: it is not watched."""
    try:
        if not watched or getattr(_running, "watch", None) is not None:  # or already watched (nested)
            return fn(*args)
        _running.watch = _Watch(limits)
        try:
            return fn(*args)
        finally:
            _running.watch = None
    except _Breach as exc:
        breach = exc
    except MemoryError:
        breach = _Breach("the script ran out of memory", "脚本运行时内存不足")
    except RecursionError:
        breach = _Breach("the script recursed too deeply", "脚本递归层数过多")
    raise ScriptLimitExceeded(f"{what} stopped: {breach.message}", f"流程{what_zh(what)}已停止：{breach.message_zh}")


_REPEATING = (ast.While, ast.For, ast.comprehension, ast.Lambda, ast.FunctionDef, ast.AsyncFunctionDef)


@lru_cache(maxsize=8192)
def _repeats(source: str, mode: str) -> bool:
    """Can this code run a loop or call itself (then it runs watched)?"""
    return any(isinstance(n, _REPEATING) for n in ast.walk(ast.parse(source.strip() if mode == "eval" else source,
                                                                      mode=mode)))


def what_zh(what: str) -> str:
    return {"script": "脚本", "expression": "表达式"}.get(what, what)


class RestrictedCodeError(SyntaxError):
    pass


# Refused outright at deploy time, though most would only fail at run time (not in the builtins):
# saying so early names the element instead of breaking a running case.
FORBIDDEN_NAMES = frozenset({"eval", "exec", "open", "compile", "globals", "locals", "vars", "getattr",
                             "setattr", "delattr", "breakpoint", "input", "help", "memoryview", "type"})


def _refuse_imports_and_names(source: str, mode: str) -> None:
    import ast

    for node in ast.walk(ast.parse(source, mode=mode)):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            raise RestrictedCodeError("import statements are not allowed in process scripts")
        if isinstance(node, ast.Name) and node.id in FORBIDDEN_NAMES:
            raise RestrictedCodeError(f"name {node.id!r} is not allowed in process scripts")


@lru_cache(maxsize=4096)
def compile_expression(source: str):
    _refuse_imports_and_names(source.strip(), "eval")
    result = compile_restricted_eval(source.strip(), "<bpmn-expression>", policy=_LimitingPolicy)
    if result.errors or result.code is None:
        raise RestrictedCodeError("; ".join(result.errors) or "cannot compile")
    return result.code


@lru_cache(maxsize=2048)
def compile_script(source: str):
    _refuse_imports_and_names(source, "exec")
    result = compile_restricted_exec(source, "<bpmn-script>", policy=_LimitingPolicy)
    if result.errors or result.code is None:
        raise RestrictedCodeError("; ".join(result.errors) or "cannot compile")
    return result.code


def check_expression(source: str, *, where: str) -> None:
    """Deploy-time check: refuse what the restricted compiler refuses."""
    try:
        compile_expression(source)
    except (RestrictedCodeError, SyntaxError) as exc:
        raise ScriptRefused(
            f"{where}: expression refused by the restricted compiler: {exc} — {source!r}",
            f"{where}：表达式未通过受限编译检查：{exc} — {source!r}",
        ) from None


def check_script(source: str, *, where: str) -> None:
    try:
        compile_script(source)
    except (RestrictedCodeError, SyntaxError) as exc:
        raise ScriptRefused(
            f"{where}: script refused by the restricted compiler: {exc}",
            f"{where}：脚本未通过受限编译检查：{exc}",
        ) from None


class RestrictedEnvironment(TaskDataEnvironment):
    """Task data as the namespace, RestrictedPython's guards as the only way in or out, and every
    run under `limits`."""

    def __init__(self, limits: ScriptLimits | None = None):
        super().__init__(dict(RESTRICTED_GLOBALS))
        self.limits = limits or ScriptLimits()

    def evaluate(self, expression, context, external_context=None):
        namespace = dict(self.globals)
        namespace.update(external_context or {})
        namespace.update(context)
        code = compile_expression(expression)
        return _run_limited(self.limits, "expression", _repeats(expression, "eval"),  # restricted
                            eval, code, namespace)

    def execute(self, script, context, external_context=None):
        self.check_for_overwrite(context, external_context or {})
        context.update(self.globals)
        context.update(external_context or {})
        code = compile_script(script)
        try:
            _run_limited(self.limits, "script", _repeats(script, "exec"), exec, code, context)
        finally:
            self._remove_globals_and_functions_from_context(context, external_context)
        if _units(context, MAX_DATA_UNITS) > MAX_DATA_UNITS:
            raise ScriptLimitExceeded(
                f"the script left task data larger than {MAX_DATA_UNITS:,} units",
                f"流程脚本生成的数据过大（超过 {MAX_DATA_UNITS:,} 个字符或元素），未保存")
        return True


class HongwuScriptEngine(PythonScriptEngine):
    """Restricted environment plus service tasks dispatched to the registry.

    `call_service` is overridden: SpiffWorkflow's own version raises NameError on failure.
    """

    def __init__(self, service_context: services.ServiceContext | None = None, limits: ScriptLimits | None = None):
        super().__init__(environment=RestrictedEnvironment(limits))
        self.service_context = service_context

    def validate(self, expression):
        compile_expression(expression)

    def call_service(self, task, operation_name=None, operation_params=None, **_):
        params = {name: spec["value"] for name, spec in (operation_params or {}).items()}
        try:
            result = services.call(operation_name, params, self.service_context, task)
        except WorkflowTaskException:
            raise
        except Exception as exc:  # the failing service is named in the case's error
            raise WorkflowTaskException(
                f"service {operation_name} failed: {exc}", task=task, exception=exc
            ) from exc
        return json.dumps(result, ensure_ascii=False, default=str)
