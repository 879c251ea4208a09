"""``xiangmap users``: accounts and bearer tokens."""

from __future__ import annotations

import typer

app = typer.Typer(help="Users, roles and tokens.", no_args_is_help=True)


@app.command("add")
def add(
    name: str = typer.Argument(..., help="User name."),
    role: str = typer.Option(..., "--role", help="viewer | editor | inspector | admin"),
    days: int = typer.Option(365, help="Days until the token expires (0: never)."),
) -> None:
    """Create a user (or give an existing one a new token); prints the token once."""
    from service.accounts.usecases import add_user
    from service.database import session_scope

    try:
        with session_scope() as session:
            token = add_user(session, "cli", name, role, days or None)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--role") from exc
    typer.echo(token)


@app.command("revoke")
def revoke(name: str = typer.Argument(..., help="User name.")) -> None:
    """Revoke a user's token."""
    from service.accounts import usecases
    from service.database import session_scope

    with session_scope() as session:
        revoked = usecases.revoke(session, "cli", name)
    if not revoked:
        typer.echo(f"no user {name!r}", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {name}")


@app.command("list")
def list_users() -> None:
    """List users, roles and token state."""
    from service.accounts.usecases import list_users as users
    from service.database import session_scope

    with session_scope() as session:
        found = users(session)
    for user in found:
        state = "revoked" if user.revoked_at else f"expires {user.expires_at:%Y-%m-%d}" if user.expires_at else "active"
        typer.echo(f"{user.name}\t{user.role}\t{state}")
