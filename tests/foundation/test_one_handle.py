"""Domain code and use cases take a Session, never a Connection or an Engine (decision 0100).

A Connection or Engine in a signature lets each caller decide where the transaction starts and ends;
with a Session the use case owns it.  Import-linter cannot see annotations, so this test reads them.
"""

from __future__ import annotations

import ast

from service.settings import PROJECT_ROOT

SERVICE = PROJECT_ROOT / "service"
AREAS = ("projects", "geocoding", "layers", "progress", "screening", "maps", "accounts", "common")
HANDLES = {"Connection", "Engine"}
# the exceptions decision 0100 names: setup entry points (``xiangmap setup`` hands them the engine and
# they open the session their work runs in) and the signing key, read once per process like read_one;
# the OGC area reads over the Engine on purpose and is not in AREAS
ALLOWED = {
    "projects/usecases.py:load_bundled_plans",
    "geocoding/usecases.py:geocode_pending",
    "layers/bundled.py:load_bundled_layers",
    "layers/catalogue.py:sync",
    "progress/demo.py:load_demo_progress",
    "common/signed_links.py:_key",
    "common/signed_links.py:derived_key",  # the same key, for the web pages' flash cookie
    "common/signed_links.py:sign",
    "common/signed_links.py:verify",
    "common/signed_links.py:verify_query",
}


def _annotation_names(node: ast.AST | None) -> set[str]:
    if node is None:
        return set()
    return (
        {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
        | {n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)}
        | {n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    )


def test_domain_functions_take_a_session() -> None:
    found = []
    paths = [p for area in AREAS for p in sorted((SERVICE / area).rglob("*.py"))]
    assert len(paths) > 40, "the areas were not found"
    for path in paths:
        if path.name in ("routes.py", "cli.py"):
            continue
        where = path.relative_to(SERVICE).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                if f"{where}:{node.name}" in ALLOWED:
                    continue
                args = [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]
                for arg in args:
                    if _annotation_names(arg.annotation) & HANDLES:
                        found.append(f"{where}:{node.lineno} {node.name}({arg.arg})")
            elif isinstance(node, ast.AnnAssign) and _annotation_names(node.annotation) & HANDLES:
                found.append(f"{where}:{node.lineno}")
    assert not found, f"take a Session (decision 0100), not a Connection or Engine: {found}"
