"""What the in-process benches share: a throwaway PostGIS with the bundled data, and the app served on a port.

``bench maps`` and ``bench cases`` each set these up the same way; ``throwaway_database`` gives the migrated
engine (the bundled layers, optionally the unit register, the web assets) and destroys the cluster after,
``serving`` runs the app under uvicorn in a thread of this process and stops it after.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine


@contextmanager
def throwaway_database(*, units: bool = False) -> Iterator[Engine]:
    """A new cluster as ``DATABASE_URL``, migrated and loaded; destroyed when the block ends."""
    from service.pgcluster import Cluster

    cluster = Cluster.throwaway_cluster().ensure()
    try:
        os.environ["DATABASE_URL"] = cluster.url()
        from service import assets, migrate
        from service.database import _sessionmaker, get_engine
        from service.layers import catalogue
        from service.layers.bundled import load_bundled_layers
        from service.settings import get_settings

        get_settings.cache_clear()
        get_engine.cache_clear()
        _sessionmaker.cache_clear()
        engine = get_engine()
        migrate.upgrade(engine)
        catalogue.sync(engine)
        load_bundled_layers(engine)
        if units:
            from service.units import usecases as unit_register

            unit_register.load_bundled_units(engine)
        assets.fetch_assets(engine)
        yield engine
    finally:
        cluster.destroy()


@contextmanager
def serving() -> Iterator[str]:
    """The app under uvicorn on a free loopback port, in a thread; yields its base URL."""
    import uvicorn

    from service.app import create_app
    from service.pgcluster import free_port

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
