"""Screening's domain code and use cases take a Session, never a Connection or an Engine (decision 0100).

A Connection or Engine in a signature lets each caller decide where the transaction starts and ends;
with a Session the use case owns it.  Import-linter cannot see annotations, so this test reads them.
"""

from __future__ import annotations

import ast

from service.settings import PROJECT_ROOT

AREA = PROJECT_ROOT / "service" / "screening"
HANDLES = {"Connection", "Engine"}


def _annotation_names(node: ast.AST | None) -> set[str]:
    if node is None:
        return set()
    return (
        {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
        | {n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)}
        | {n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    )


def test_screening_functions_take_a_session() -> None:
    found = []
    for path in sorted(AREA.glob("*.py")):
        if path.name == "routes.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                args = [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]
                for arg in args:
                    if _annotation_names(arg.annotation) & HANDLES:
                        found.append(f"{path.name}:{node.lineno} {node.name}({arg.arg})")
            elif isinstance(node, ast.AnnAssign) and _annotation_names(node.annotation) & HANDLES:
                found.append(f"{path.name}:{node.lineno}")
    assert not found, f"take a Session (decision 0100), not a Connection or Engine: {found}"
