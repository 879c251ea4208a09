"""``xiangmap``: the root command; groups are added from their own modules."""

from __future__ import annotations

import typer

from service.cli import db, layers, plans, progress, screen, users
from service.cli import geocode as geocode_cli

app = typer.Typer(
    name="xiangmap",
    help="Chang-Zhu-Tan work-plan projects on PostGIS layers: setup, loaders and the server.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(db.app, name="db")
app.add_typer(layers.app, name="layers")
app.add_typer(plans.app, name="plans")
app.add_typer(geocode_cli.app, name="geocode")
app.add_typer(progress.app, name="progress")
app.add_typer(screen.app, name="screen")
app.add_typer(users.app, name="users")


@app.command()
def setup() -> None:
    """Migrate the database and load every bundled layer, plan, geocode and demonstration report."""
    from service.database import get_engine
    from service.setup import run_setup

    run_setup(get_engine())


@app.command()
def serve(
    host: str | None = typer.Option(None, help="Interface to bind (default from XIANGMAP_HOST, 127.0.0.1)."),
    port: int | None = typer.Option(None, help="Port (default from XIANGMAP_PORT, 8000)."),
    workers: int = typer.Option(1, help="Worker processes."),
    reload: bool = typer.Option(False, help="Reload on code changes (development)."),
) -> None:
    """Serve the API and the maps."""
    import uvicorn

    from service.settings import get_settings

    settings = get_settings()
    uvicorn.run(
        "service.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        reload=reload,
        proxy_headers=True,
    )


if __name__ == "__main__":
    app()
