"""Restricted scripting for BPMN scripts, gateway conditions, timer expressions and DMN cells.

Every piece of code in a process definition is compiled with RestrictedPython's
`compile_restricted_*` (which refuses dunder attribute access such as
`().__class__.__base__.__subclasses__()` at compile time) and run with its guards. Service tasks
never run code: they call functions registered in `engine.runtime.services`.
"""
from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

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
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException

from .errors import ScriptRefused
from . import services


def _inplacevar(op: str, x: Any, y: Any) -> Any:
    ops = {
        "+=": lambda a, b: a + b, "-=": lambda a, b: a - b, "*=": lambda a, b: a * b,
        "/=": lambda a, b: a / b, "//=": lambda a, b: a // b, "%=": lambda a, b: a % b,
        "|=": lambda a, b: a | b, "&=": lambda a, b: a & b,
    }
    if op not in ops:
        raise SyntaxError(f"operator {op} is not allowed")
    return ops[op](x, y)


def _restricted_builtins() -> dict[str, Any]:
    allowed = dict(safe_builtins)
    allowed.update(limited_builtins)
    allowed.update(utility_builtins)
    for name in ("dict", "list", "set", "sum", "min", "max", "any", "all", "enumerate", "zip",
                 "sorted", "map", "filter", "reversed"):
        allowed[name] = __builtins__[name] if isinstance(__builtins__, dict) else getattr(__builtins__, name)
    return allowed


RESTRICTED_GLOBALS: dict[str, Any] = {
    "__builtins__": _restricted_builtins(),
    "_getattr_": safer_getattr,
    "_getitem_": default_guarded_getitem,
    "_getiter_": default_guarded_getiter,
    "_write_": full_write_guard,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_inplacevar_": _inplacevar,
}


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
    result = compile_restricted_eval(source.strip(), "<bpmn-expression>")
    if result.errors or result.code is None:
        raise RestrictedCodeError("; ".join(result.errors) or "cannot compile")
    return result.code


@lru_cache(maxsize=2048)
def compile_script(source: str):
    _refuse_imports_and_names(source, "exec")
    result = compile_restricted_exec(source, "<bpmn-script>")
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
    """Task data as the namespace, RestrictedPython's guards as the only way in or out."""

    def __init__(self):
        super().__init__(dict(RESTRICTED_GLOBALS))

    def evaluate(self, expression, context, external_context=None):
        namespace = dict(self.globals)
        namespace.update(external_context or {})
        namespace.update(context)
        return eval(compile_expression(expression), namespace)  # noqa: S307 - restricted bytecode

    def execute(self, script, context, external_context=None):
        self.check_for_overwrite(context, external_context or {})
        context.update(self.globals)
        context.update(external_context or {})
        try:
            exec(compile_script(script), context)  # noqa: S102 - restricted bytecode
        finally:
            self._remove_globals_and_functions_from_context(context, external_context)
        return True


class HongwuScriptEngine(PythonScriptEngine):
    """Restricted environment plus service tasks dispatched to the registry.

    `call_service` is overridden: SpiffWorkflow's own version raises NameError on failure.
    """

    def __init__(self, service_context: services.ServiceContext | None = None):
        super().__init__(environment=RestrictedEnvironment())
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
