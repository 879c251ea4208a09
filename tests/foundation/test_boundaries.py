"""The area layout's boundaries (issue #13): the import contracts in .importlinter, and no SQL in routes or CLI.

Both checks describe the layout ``scripts/restructure.py`` makes (service/<area>/routes.py ...); on a tree
still in the old layout (service/domain, service/routers) they skip and say so.  Known violations are
listed (in .importlinter's ignore_imports, in KNOWN_SQL here) until the follow-up removes them; a new
one fails.  See docs/architecture.md and docs/decisions/0100-areas-and-one-session-handle.md.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from service.settings import PROJECT_ROOT

SERVICE = PROJECT_ROOT / "service"


def _require_area_layout() -> None:
    if (SERVICE / "domain").is_dir() or (SERVICE / "routers").is_dir() or not (SERVICE / "screening").is_dir():
        pytest.skip(
            "service/ is still in the old layout (service/domain, service/routers): the boundary contracts "
            "describe the area layout of issue #13; run `python scripts/restructure.py` to move the modules"
        )


def test_import_contracts_hold(capsys: pytest.CaptureFixture[str]) -> None:
    _require_area_layout()
    try:
        from importlinter.cli import lint_imports
    except ImportError:  # make test installs the dev extras, so this is a broken environment, not a skip
        pytest.fail("import-linter is not installed: .venv/bin/pip install -e '.[dev]'")
    code = lint_imports(config_filename=str(PROJECT_ROOT / ".importlinter"), no_cache=True, no_logo=True)
    report = capsys.readouterr().out
    assert code == 0, f"an import crosses a boundary of .importlinter (docs/architecture.md):\n{report}"


# Calls that run SQL, or build it, in a module whose job is to parse, authorise and shape the answer.
SQL_CALLS = {"text", "select", "insert", "update", "delete", "read_one"}
SQL_METHODS = {"execute", "scalars", "scalar", "connect", "begin", "exec_driver_sql"}
SQL_WORDS = ("SELECT ", "INSERT ", "UPDATE ", "DELETE ", "WITH ")

# SQL in routes and CLI commands today, per module: the follow-up moves it into use cases and lowers
# these to nothing.  Never raise a number: put the query in the area's usecases.py instead.
KNOWN_SQL: dict[str, int] = {}


def sql_uses(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in SQL_CALLS:
                found.append(f"{node.lineno}: {func.id}()")
            elif isinstance(func, ast.Attribute) and func.attr in SQL_METHODS:
                found.append(f"{node.lineno}: .{func.attr}()")
            elif isinstance(func, ast.Attribute) and func.attr == "get" and getattr(func.value, "id", "") == "session":
                found.append(f"{node.lineno}: session.get()")
        elif isinstance(node, ast.Constant) and str(node.value).lstrip().startswith(SQL_WORDS):
            found.append(f"{node.lineno}: SQL text")
    return found


def test_no_new_sql_in_routes_or_cli() -> None:
    _require_area_layout()
    modules = sorted({*SERVICE.glob("*/routes*.py"), *SERVICE.glob("*/cli.py"), *SERVICE.glob("cli/*.py")})
    assert modules, "no routes.py / cli.py found under service/<area>/"
    grown = {}
    for path in modules:
        rel = str(path.relative_to(PROJECT_ROOT))
        uses = sql_uses(path)
        if len(uses) > KNOWN_SQL.get(rel, 0):
            grown[rel] = uses
    assert not grown, f"SQL in routes / CLI commands (put it in the area's use cases or domain): {grown}"
