"""``xiangmap``: the root command; groups are added from their own modules."""

from __future__ import annotations

import contextlib
import os
import socket
import sys

import typer

from service.accounts import cli as users
from service.evaluations import cli as evaluations
from service.geocoding import cli as geocode_cli
from service.layers import cli as layers
from service.milestones import cli as milestones
from service.progress import cli as progress
from service.projects import cli as plans
from service.screening import cli as screen
from service.system import cli as db
from service.units import cli as units

app = typer.Typer(
    name="xiangmap",
    help="Chang-Zhu-Tan work-plan projects on PostGIS layers: setup, loaders and the server.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
SERVE_FD = "XIANGMAP_SERVE_FD"  # the listening socket `serve` bound as root, handed to its unprivileged self

app.add_typer(db.app, name="db")
app.add_typer(layers.app, name="layers")
app.add_typer(plans.app, name="plans")
app.add_typer(geocode_cli.app, name="geocode")
app.add_typer(progress.app, name="progress")
app.add_typer(milestones.app, name="milestones")
app.add_typer(evaluations.app, name="evaluations")
app.add_typer(screen.app, name="screen")
app.add_typer(users.app, name="users")
app.add_typer(units.app, name="units")


@app.command()
def setup() -> None:
    """Migrate the database and load every bundled layer, plan, geocode and demonstration report."""
    from service.database import get_owner_engine
    from service.setup import run_setup

    run_setup(get_owner_engine())  # as the owner: migrations are DDL, which the app role may not do


@app.command()
def serve(
    host: str | None = typer.Option(None, help="Interface to bind (default from XIANGMAP_HOST, 127.0.0.1)."),
    port: int | None = typer.Option(None, help="Port (default from XIANGMAP_PORT, 8000)."),
    workers: int = typer.Option(1, help="Worker processes."),
    reload: bool = typer.Option(False, help="Reload on code changes (development)."),
    forwarded_allow_ips: str | None = typer.Option(
        None,
        help="Reverse proxies whose X-Forwarded-For / -Proto are trusted, comma-separated (default from "
        "XIANGMAP_FORWARDED_ALLOW_IPS, else uvicorn's FORWARDED_ALLOW_IPS or the loopback addresses).",
    ),
) -> None:
    """Serve the API and the maps; started as root, it binds and then runs as XIANGMAP_SERVE_USER."""
    import uvicorn
    from uvicorn.supervisors import ChangeReload, Multiprocess

    from service.settings import get_settings
    from service.system import privileges

    settings = get_settings()
    config = uvicorn.Config(
        "service.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        reload=reload,
        proxy_headers=True,
        # behind nginx on another machine (docs/deploy/): whose forwarded headers to believe
        forwarded_allow_ips=forwarded_allow_ips or settings.forwarded_allow_ips,
    )
    inherited = os.environ.pop(SERVE_FD, None)
    for loose in privileges.loose_secret_files() if inherited is None else []:
        typer.echo(f"warning: {loose} holds secrets and others may read it: chmod 600 {loose}", err=True)
    if inherited is not None:  # re-executed below, unprivileged, with the socket bound by root
        if privileges.is_root():
            typer.echo(f"error: {SERVE_FD} is set and we are root: refusing to serve as root", err=True)
            raise typer.Exit(2)
        sock = socket.socket(fileno=int(inherited))
    elif privileges.is_root():  # decision 0092: every process that answers a request is unprivileged
        try:
            entry = privileges.account(settings.serve_user)
            privileges.export_root_only_settings()
            privileges.grant_reach(entry.pw_name, privileges.needed_paths())
            tmp = privileges.private_tmp(entry)
        except privileges.PrivilegeError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from exc
        sock = config.bind_socket()  # as root: a port below 1024 works
        privileges.drop_to(entry, tmp)
        typer.echo(f"serving as {privileges.describe(entry)}", err=True)
        # a fresh process image: nothing root read (cluster.json, the owner's URL) stays in memory
        sock.set_inheritable(True)
        env = {**os.environ, SERVE_FD: str(sock.fileno())}
        os.execve(sys.executable, [sys.executable, "-m", "service.cli.main", *sys.argv[1:]], env)
    else:
        sock = config.bind_socket()
    server = uvicorn.Server(config)
    with contextlib.suppress(KeyboardInterrupt):  # as uvicorn.run does
        if config.should_reload:
            ChangeReload(config, target=server.run, sockets=[sock]).run()
        elif config.workers > 1:
            Multiprocess(config, sockets=[sock]).run()
        else:
            server.run(sockets=[sock])
    if not server.started and not config.should_reload and config.workers == 1:
        raise typer.Exit(3)


if __name__ == "__main__":
    app()
