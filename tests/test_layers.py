"""The layers hold: every import in `engine/` (module level or inside a function) is read from the
source and checked against the direction the architecture allows (docs/architecture.md):

- domain        → nothing in engine but `engine.errors`;
- runtime       → not the adapters, not the process modules, not the services and views above it;
- processes     → the runtime's registries and service context, the domain — never the `Runtime`;
- services (engine.services) and views (engine.views) → runtime, processes, domain;
- adapters (engine.web, engine.commands) → services and views; never SQLAlchemy, never the
  database package, never a session of their own (`….uow()`), never a process module.

An exception is a named (module, import) pair below with the reason it stays; a new import that
breaks a rule fails with the module and line."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENGINE = ROOT / "engine"

# Runtime modules a process module may use: the registries it registers with and the context its
# service tasks run in — not the Runtime that drives them.
PROCESS_MAY_USE_RUNTIME = {"engine.runtime.registry", "engine.runtime.services", "engine.runtime.settings", "engine.runtime.actors",
                           "engine.runtime.errors", "engine.runtime.choices", "engine.runtime.panels",
                           "engine.runtime.invariants", "engine.runtime.forms"}

# (importing module, imported module) pairs that are allowed on purpose.
EXCEPTIONS: dict[tuple[str, str], str] = {
    # The service registry discovers the process modules by package name so that they register
    # their services; it names no process module and uses nothing from them directly.
    ("engine.runtime.services", "engine.processes"): "plugin discovery",
    ("engine.runtime.registry", "engine.processes"): "plugin discovery: the built-in process package",
    # `hongwu doctor` and `hongwu setup` report on and migrate the database itself: their job is
    # the connection and the schema revision, below the service layer.
    ("engine.commands.notices", "engine.db.migrate"): "doctor: schema revision",
    ("engine.commands.notices", "engine.db.session"): "doctor: can the database be reached",
    ("engine.commands.setup", "engine.db.migrate"): "setup: runs the migrations",
}

# Modules whose `.uow()` calls are allowed on purpose (none in the adapters is the goal).
UOW_EXCEPTIONS: dict[str, str] = {}


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> list[tuple[str, int]]:
    """Every module named by an import in the file, resolved to absolute names."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            found.append((mod, node.lineno))
            # `from engine.runtime import service` names a module, too
            found += [(f"{mod}.{a.name}", node.lineno) for a in node.names if a.name != "*"]
    return found


def _modules(prefix: str) -> list[Path]:
    return sorted((ENGINE / prefix).rglob("*.py"))


def _under(mod: str, pkg: str) -> bool:
    return mod == pkg or mod.startswith(pkg + ".")


def _excepted(module: str, imported: str) -> bool:
    return any(module == m and _under(imported, i) for (m, i) in EXCEPTIONS)


def _violations(prefix: str, forbidden) -> list[str]:
    out = {}
    for path in _modules(prefix):
        module = _module_name(path)
        for imported, line in _imports(path):
            why = forbidden(imported)
            if why and not _excepted(module, imported):
                out.setdefault((str(path.relative_to(ROOT)), line), f"imports {imported} ({why})")
    return [f"{p}:{line} {what}" for (p, line), what in sorted(out.items())]


def test_domain_imports_nothing_from_engine_but_the_errors():
    def forbidden(mod: str) -> str | None:
        if _under(mod, "engine") and not (_under(mod, "engine.domain") or _under(mod, "engine.errors")):
            return "the domain stands alone"
        if _under(mod, "sqlalchemy") or _under(mod, "SpiffWorkflow"):
            return "the domain knows no database or engine"
        return None
    assert _violations("domain", forbidden) == []


def test_runtime_imports_neither_adapters_nor_processes():
    def forbidden(mod: str) -> str | None:
        for pkg in ("engine.web", "engine.commands", "engine.cli", "engine.processes", "engine.services",
                    "engine.views", "fastapi", "typer"):
            if _under(mod, pkg):
                return "the runtime does not know who calls it or which processes exist"
        return None
    assert _violations("runtime", forbidden) == []


def test_processes_use_the_registries_not_the_runtime():
    def forbidden(mod: str) -> str | None:
        if _under(mod, "engine.runtime") and mod not in PROCESS_MAY_USE_RUNTIME and not any(
                _under(mod, m) for m in PROCESS_MAY_USE_RUNTIME):
            return "processes register with the runtime; they do not drive it"
        for pkg in ("engine.web", "engine.commands", "engine.cli", "engine.views", "engine.services"):
            if _under(mod, pkg):
                return "processes do not know the adapters"
        return None
    assert _violations("processes", forbidden) == []


def test_adapters_use_services_and_views_never_sqlalchemy_or_a_session():
    def forbidden(mod: str) -> str | None:
        if _under(mod, "sqlalchemy"):
            return "adapters do not query the database"
        if _under(mod, "engine.db"):
            return "adapters reach the database through services and views"
        if _under(mod, "engine.processes"):
            return "adapters call services, not process modules"
        return None
    found = _violations("web", forbidden) + _violations("commands", forbidden)
    assert found == [], "\n".join(found)


def test_adapters_open_no_unit_of_work():
    found = []
    for prefix in ("web", "commands"):
        for path in _modules(prefix):
            if _module_name(path) in UOW_EXCEPTIONS:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "uow":
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert found == [], "\n".join(found)


def test_the_checker_sees_a_forbidden_import(tmp_path, monkeypatch):
    """The walk resolves relative imports and names inside `from … import …`."""
    pkg = tmp_path / "engine" / "web"
    pkg.mkdir(parents=True)
    (pkg / "page.py").write_text("def f():\n    from ..db import session\nfrom sqlalchemy import select\n",
                                 encoding="utf-8")
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    found = [m for m, _ in _imports(pkg / "page.py")]
    assert "engine.db.session" in found and "sqlalchemy" in found


def test_every_table_module_can_be_imported_first():
    """A script (a benchmark) may import any table module before engine.db.models: no cycle trips."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    for module in sorted((root / "engine" / "db").glob("*_models.py")):
        done = subprocess.run([sys.executable, "-c", f"import engine.db.{module.stem}"], cwd=root,
                              capture_output=True, text=True)
        assert done.returncode == 0, f"{module.stem}: {done.stderr[-400:]}"
