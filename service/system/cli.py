"""``xiangmap db``: migrations and the project-managed PostgreSQL cluster."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import typer

from service.settings import get_settings

if TYPE_CHECKING:
    from service.pgcluster import Cluster

_T = TypeVar("_T")

app = typer.Typer(help="Database: migrations and the project-managed cluster.", no_args_is_help=True)
cluster_app = typer.Typer(
    help="The project-managed cluster under .data/ (used when DATABASE_URL is unset).", no_args_is_help=True
)
app.add_typer(cluster_app, name="cluster")
replica_app = typer.Typer(
    help="Hot standbys of the managed cluster on this machine, each on its own port (docs/scaling.md).",
    no_args_is_help=True,
)
app.add_typer(replica_app, name="replica")


@app.command()
def upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Apply migrations up to REVISION (default: head)."""
    from service import migrate
    from service.database import get_owner_engine

    migrate.upgrade(get_owner_engine(), revision)
    typer.echo(f"database at revision {migrate.current(get_owner_engine())}")


@app.command()
def downgrade(
    revision: str = typer.Argument(..., help="Target revision, or 'base' to remove the schema."),
) -> None:
    """Revert migrations down to REVISION."""
    from service import migrate
    from service.database import get_owner_engine

    migrate.downgrade(get_owner_engine(), revision)
    typer.echo(f"database at revision {migrate.current(get_owner_engine())}")


@app.command()
def current() -> None:
    """Print the database's revision and the code's head."""
    from service import migrate
    from service.database import get_owner_engine

    typer.echo(f"database: {migrate.current(get_owner_engine())}  code head: {migrate.head()}")


@app.command("grant-app-role")
def grant_app_role(
    name: str | None = typer.Option(
        None, help="The application role (default: the user of XIANGMAP_APP_DATABASE_URL, else xiangmap_app)."
    ),
    apply: bool = typer.Option(False, "--apply", help="Run the grants on DATABASE_URL (as its owner)."),
    password_file: typer.FileText | None = typer.Option(
        None, help="Also print CREATE ROLE with the password read from this file ('-': stdin)."
    ),
) -> None:
    """Print (or --apply) the SQL that gives the application role what the service needs and no more.

    Without --apply it prints two parts: what a superuser runs once per cluster (CREATE ROLE), and
    what the database's owner runs in the database of DATABASE_URL (the grants of migration 0010).
    """
    from sqlalchemy.exc import SQLAlchemyError

    from service import db_roles
    from service.database import get_owner_engine

    settings = get_settings()
    try:
        role = db_roles.checked_name(name or settings.app_role_name())
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--name") from exc
    engine = get_owner_engine()
    if apply:
        try:
            for statement in db_roles.apply_grants_in_transaction(engine, role):
                typer.echo(f"{statement};")
        except LookupError as missing:
            typer.echo(f"error: {missing}", err=True)
            raise typer.Exit(2) from missing
        except SQLAlchemyError as exc:
            typer.echo(f"error: {getattr(exc, 'orig', exc)}", err=True)
            raise typer.Exit(2) from exc
        typer.echo(f"-- granted to {role} in {engine.url.database}", err=True)
        return
    # printed for a migrated database: audit_log append-only, the bookkeeping read-only
    tables = (*db_roles.READ_ONLY_TABLES, *db_roles.APPEND_ONLY_TABLES)
    password = password_file.read().strip() if password_file else None
    typer.echo("-- 1. as a superuser, once per cluster (a CREATEROLE role will do):")
    typer.echo(f"{db_roles.create_role_statement(role, password or 'CHANGE-ME')};")
    typer.echo(f"-- 2. as the owner of database {engine.url.database}, connected to it (migration 0010 does this):")
    for statement in db_roles.grant_statements(role, engine.url.database or "xiangmap", tables):
        typer.echo(f"{statement};")


def _cluster():  # type: ignore[no-untyped-def]
    from service.pgcluster import Cluster

    settings = get_settings()
    if settings.database_url:
        raise typer.BadParameter("DATABASE_URL is set: the managed cluster is not in use")
    return Cluster.for_project(settings.data_dir, settings.db_port, settings.app_role)


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


# ---- xiangmap db replica: hot standbys of the managed cluster (service/replicas.py, docs/scaling.md) ----
def _replica_primary() -> Cluster:
    """The managed cluster as the primary; a given DATABASE_URL has its replicas made by hand."""
    from service.pgcluster import Cluster

    settings = get_settings()
    if settings.database_url:
        typer.echo(
            "error: DATABASE_URL is set, so this is not the managed cluster and `xiangmap db replica` does not "
            "manage it. For a given primary/replica pair, make the standby with pg_basebackup and set "
            "XIANGMAP_REPLICA_URLS to its URL(s): see docs/scaling.md.",
            err=True,
        )
        raise typer.Exit(2)
    return Cluster.for_project(settings.data_dir, settings.db_port, settings.app_role)


def _replica_step(step: Callable[..., _T], *args: Any) -> _T:
    """Run a step of service.replicas, turning its ClusterError into a message and exit status 2."""
    from service.pgcluster import ClusterError

    try:
        return step(*args)
    except ClusterError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc


@replica_app.command("add")
def replica_add(
    name: str = typer.Option("replica1", "--name", help="The standby's name (its slot is xiangmap_NAME)."),
    port: int | None = typer.Option(None, "--port", help="Its port on 127.0.0.1 (default: a free one)."),
) -> None:
    """Make a hot standby: a slot on the primary, pg_basebackup into its own data dir, started on its own port."""
    from service import replicas

    primary = _replica_primary()
    _replica_step(primary.ensure)
    replica = _replica_step(replicas.add_replica, primary, name, port)
    typer.echo(f"standby {replica.name} running on 127.0.0.1:{replica.port}, data in {replica.pgdata}")


@replica_app.command("remove")
def replica_remove(name: str = typer.Argument(..., help="The standby's name.")) -> None:
    """Stop a standby, drop its slot and delete its data directory."""
    from service import replicas

    _replica_step(replicas.remove_replica, _replica_primary(), name)
    typer.echo(f"removed {name}")


@replica_app.command("start")
def replica_start(name: str = typer.Argument(..., help="The standby's name.")) -> None:
    """Start a stopped standby; it catches up from its slot."""
    from service import replicas

    replica = _replica_step(replicas.start_replica, _replica_primary(), name)
    typer.echo(f"standby {replica.name} running on 127.0.0.1:{replica.port}")


@replica_app.command("stop")
def replica_stop(name: str = typer.Argument(..., help="The standby's name.")) -> None:
    """Stop a standby (the primary keeps the WAL it needs to rejoin, up to max_slot_wal_keep_size)."""
    from service import replicas

    _replica_step(replicas.stop_replica, _replica_primary(), name)
    typer.echo(f"stopped {name}")


@replica_app.command("status")
def replica_status() -> None:
    """A table of the standbys: running, replication state, lag in bytes and replay delay."""
    from rich.console import Console
    from rich.table import Table

    from service import replicas

    primary = _replica_primary()
    rows = _replica_step(replicas.replica_status, primary)
    if not rows:
        typer.echo("no replicas: xiangmap db replica add")
        return
    table = Table("name", "port", "running", "state", "lag bytes", "replay delay")
    for row in rows:
        state = row["state"] or ("no slot" if row["slot"] is None else "not connected")
        if row["error"]:
            state = f"{state} ({row['error']})"
        lag = "-" if row["lag_bytes"] is None else f"{row['lag_bytes']:,}"
        table.add_row(
            row["name"],
            str(row["port"]),
            "yes" if row["running"] else "no",
            state,
            lag,
            replicas.describe_delay(row["replay_delay"]),
        )
    Console().print(table)
    if not primary.running():
        typer.echo("the primary is not running (xiangmap db cluster start): replication state unknown", err=True)
