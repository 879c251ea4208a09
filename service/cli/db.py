"""``xiangmap db``: migrations and the project-managed PostgreSQL cluster."""

from __future__ import annotations

import typer

from service.settings import get_settings

app = typer.Typer(help="Database: migrations and the project-managed cluster.", no_args_is_help=True)
cluster_app = typer.Typer(
    help="The project-managed cluster under .data/ (used when DATABASE_URL is unset).", no_args_is_help=True
)
app.add_typer(cluster_app, name="cluster")


@app.command()
def upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Apply migrations up to REVISION (default: head)."""
    from service import migrate
    from service.database import get_engine

    migrate.upgrade(get_engine(), revision)
    typer.echo(f"database at revision {migrate.current(get_engine())}")


@app.command()
def downgrade(
    revision: str = typer.Argument(..., help="Target revision, or 'base' to remove the schema."),
) -> None:
    """Revert migrations down to REVISION."""
    from service import migrate
    from service.database import get_engine

    migrate.downgrade(get_engine(), revision)
    typer.echo(f"database at revision {migrate.current(get_engine())}")


@app.command()
def current() -> None:
    """Print the database's revision and the code's head."""
    from service import migrate
    from service.database import get_engine

    typer.echo(f"database: {migrate.current(get_engine())}  code head: {migrate.head()}")


def _cluster():  # type: ignore[no-untyped-def]
    from service.pgcluster import Cluster

    settings = get_settings()
    if settings.database_url:
        raise typer.BadParameter("DATABASE_URL is set: the managed cluster is not in use")
    return Cluster.for_project(settings.data_dir, settings.db_port)


@cluster_app.command("start")
def cluster_start() -> None:
    """Create (first time) and start the managed cluster, and create the database."""
    from service.pgcluster import ClusterError

    try:
        cluster = _cluster().ensure()
    except ClusterError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"PostgreSQL running on 127.0.0.1:{cluster.port}, data in {cluster.pgdata}")


@cluster_app.command("stop")
def cluster_stop() -> None:
    """Stop the managed cluster (data is kept)."""
    _cluster().stop()
    typer.echo("stopped")


@cluster_app.command("status")
def cluster_status() -> None:
    """Say whether the managed cluster runs, and where."""
    cluster = _cluster()
    state = "running" if cluster.initialised() and cluster.running() else "stopped"
    typer.echo(f"{state}: 127.0.0.1:{cluster.port}, data in {cluster.pgdata}")


@cluster_app.command("url")
def cluster_url() -> None:
    """Print the managed cluster's connection URL (for psql, QGIS: drop '+psycopg')."""
    typer.echo(_cluster().url())
