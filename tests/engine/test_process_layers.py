"""The process layer's import rules, read from the source (static imports, at any depth):
runtime never imports a process; a process never calls up into the service layer; migrations
never import the live models; the notice service and the ballot batch do not import each other;
and no process registers a notice kind as a side effect of being imported."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENGINE = ROOT / "engine"


def _imports(path: Path) -> set[str]:
    """Every module a file imports (relative imports resolved against its package)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parent = ".".join(parts[:len(parts) - node.level + 1])
                base = f"{parent}.{base}" if base else parent
            found.add(base)
            found |= {f"{base}.{a.name}" for a in node.names}
    return found


def _under(name: str, modules: tuple[str, ...]) -> bool:
    return any(name == m or name.startswith(m + ".") for m in modules)


def _files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.py"))


def test_runtime_never_imports_a_process():
    bad = {str(p.relative_to(ROOT)): sorted(i for i in _imports(p) if _under(i, ("engine.processes",)))
           for p in _files(ENGINE / "runtime")}
    assert not {k: v for k, v in bad.items() if v}


def test_processes_never_call_up_into_the_service_layer():
    up = ("engine.runtime.service", "engine.web", "engine.commands", "engine.services", "engine.demo_cases")
    bad = {str(p.relative_to(ROOT)): sorted(i for i in _imports(p) if _under(i, up))
           for p in _files(ENGINE / "processes")}
    assert not {k: v for k, v in bad.items() if v}
    for p in _files(ENGINE / "processes"):  # nor take a Runtime to call
        assert "runtime.uow(" not in p.read_text(encoding="utf-8") and "rt.uow(" not in p.read_text(encoding="utf-8"), p


def test_migrations_never_import_the_live_models():
    for p in _files(ENGINE / "db" / "migrations" / "versions"):
        assert not [i for i in _imports(p) if i.startswith("engine.db.models")], p


def test_notice_service_and_ballots_do_not_import_each_other():
    assert not [i for i in _imports(ENGINE / "notices" / "service.py") if i.startswith("engine.notices.ballots")]
    ballot_pages = _imports(ENGINE / "notices" / "ballot_pages.py")
    assert not [i for i in ballot_pages if i.startswith(("engine.notices.service", "engine.notices.ballots"))]


def test_no_notice_kind_is_registered_on_import():
    for p in _files(ENGINE / "processes"):
        assert "register_kind" not in p.read_text(encoding="utf-8"), p


def test_every_process_kind_is_a_notice_kind_without_importing_processes():
    """`committee_decision_result` is declared in the prior-review descriptor, and NOTICE_KINDS
    has it in a fresh interpreter that imported nothing else."""
    import subprocess
    import sys

    code = ("import sys; from engine.notices.kinds import NOTICE_KINDS; "
            "assert 'committee_decision_result' in NOTICE_KINDS; "
            "from engine.notices.readme import readme; assert '`committee_decision_result`' in readme(); print('ok')")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "ok", out.stderr
