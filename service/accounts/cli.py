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
    from service.common.audit import record
    from service.database import session_scope
    from service.security import create_user, user_state

    try:
        with session_scope() as session:
            before = user_state(session, name)
            token = create_user(session, name, role, days or None)
            record(session, "cli", "user.add", "user", name, before=before, after=user_state(session, name))
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--role") from exc
    typer.echo(token)


@app.command("revoke")
def revoke(name: str = typer.Argument(..., help="User name.")) -> None:
    """Revoke a user's token."""
    from service.common.audit import record
    from service.database import session_scope
    from service.security import revoke_user, user_state

    with session_scope() as session:
        before = user_state(session, name)
        if not revoke_user(session, name):
            typer.echo(f"no user {name!r}", err=True)
            raise typer.Exit(1)
        session.flush()
        record(session, "cli", "user.revoke", "user", name, before=before, after=user_state(session, name))
    typer.echo(f"revoked {name}")


@app.command("list")
def list_users() -> None:
    """List users, roles and token state."""
    from sqlalchemy import select

    from service.database import session_scope
    from service.models import User

    with session_scope() as session:
        for user in session.scalars(select(User).order_by(User.name)):
            state = (
                "revoked" if user.revoked_at else f"expires {user.expires_at:%Y-%m-%d}" if user.expires_at else "active"
            )
            typer.echo(f"{user.name}\t{user.role}\t{state}")
