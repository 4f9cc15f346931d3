"""Restricted scripting at run time."""
import pytest

from engine.runtime.scripting import RestrictedCodeError, RestrictedEnvironment, compile_expression, compile_script


@pytest.mark.parametrize("source", [
    "().__class__.__base__.__subclasses__()",
    "[c for c in ().__class__.__bases__]",
    "__import__('os')",
    "open('/etc/passwd')",
    "getattr((), '__class__')",
    "eval('1')",
])
def test_escapes_do_not_compile(source):
    with pytest.raises(RestrictedCodeError):
        compile_expression(source)


def test_import_refused_in_scripts():
    with pytest.raises(RestrictedCodeError):
        compile_script("import os")
    with pytest.raises(RestrictedCodeError):
        compile_script("from os import system")


def test_ordinary_scripts_run_on_task_data():
    env = RestrictedEnvironment()
    data = {"amounts": [1, 2, 3], "names": {"a": 1}}
    env.execute("total = sum(amounts)\nnames['b'] = 2\nbig = [x for x in amounts if x > 1]\ntotal += 1", data)
    assert data["total"] == 7 and data["names"] == {"a": 1, "b": 2} and data["big"] == [2, 3]
    assert "__builtins__" not in data and "_getattr_" not in data
    assert env.evaluate("len(big) == 2 and total > 5", data) is True


def test_format_string_attribute_walk_is_blocked():
    env = RestrictedEnvironment()
    # RestrictedPython's guarded str.format refuses outright rather than walking attributes.
    with pytest.raises(NotImplementedError):
        env.evaluate("'{0.__class__}'.format(1)", {})
