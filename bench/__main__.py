"""``python -m bench [NAME ...]``: run every benchmark module in bench/ (or the named ones).

Each module ``bench/NAME.py`` exposes ``main(argv: list[str]) -> None`` that prints its figures and
its ratios against the baseline it names.  Benchmarks are never part of the test suite.
"""

from __future__ import annotations

import sys
from importlib import import_module
from pathlib import Path


def available() -> list[str]:
    here = Path(__file__).parent
    return sorted(p.stem for p in here.glob("*.py") if not p.stem.startswith("_"))


def main(argv: list[str]) -> None:
    names = [a for a in argv if not a.startswith("-")] or available()
    unknown = set(names) - set(available())
    if unknown:
        raise SystemExit(f"unknown benchmark(s): {', '.join(sorted(unknown))}; available: {', '.join(available())}")
    for name in names:
        print(f"\n=== bench/{name}.py ===", flush=True)
        import_module(f"bench.{name}").main([a for a in argv if a.startswith("-")])


if __name__ == "__main__":
    main(sys.argv[1:])
