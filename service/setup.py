"""``xiangmap setup``: migrate, then load everything bundled, in order; every step is idempotent.

Steps live in the modules that own them and are named here as ``module:function`` so that each
area can grow without touching this list.  Each takes the engine and returns a one-line summary.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from importlib import import_module

from rich.console import Console
from sqlalchemy import Engine

from service import migrate

STEPS: tuple[tuple[str, str], ...] = (
    ("layer catalogue", "service.layers.catalogue:sync"),
    ("bundled layers", "service.layers.bundled:load_bundled_layers"),
    ("units", "service.units.usecases:load_bundled_units"),
    ("plans", "service.projects.usecases:load_bundled_plans"),
    ("administrative divisions", "service.setup:load_admin_divisions"),
    ("geocoding", "service.geocoding.usecases:geocode_pending"),
    ("demonstration progress", "service.progress.demo:load_demo_progress"),
    ("web assets", "service.assets:fetch_assets"),
)


def load_admin_divisions(engine: Engine) -> str:
    """The geocoder's official hierarchy; its use case takes a Session (decision 0100), so this opens one."""
    from service.database import session_scope
    from service.geocoding.usecases import load_admin_divisions as load

    with session_scope(engine) as session:
        return load(session)


def _resolve(target: str) -> Callable[[Engine], str]:
    module, _, func = target.partition(":")
    return getattr(import_module(module), func)


def run_setup(engine: Engine, console: Console | None = None) -> None:
    console = console or Console(stderr=True)
    started = time.perf_counter()
    migrate.upgrade(engine)
    console.print(f"[green]✓[/] database at revision {migrate.current(engine)}")
    for label, target in STEPS:
        t0 = time.perf_counter()
        summary = _resolve(target)(engine)
        console.print(f"[green]✓[/] {label}: {summary} ({time.perf_counter() - t0:.1f}s)")
    console.print(f"setup done in {time.perf_counter() - started:.1f}s")
