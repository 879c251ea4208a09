"""``xiangmap users``: accounts, bearer tokens and passwords for browser sign-in."""

from __future__ import annotations

import sys

import typer

app = typer.Typer(help="Users, roles and tokens.", no_args_is_help=True)


@app.command("add")
def add(
    name: str = typer.Argument(..., help="User name."),
    role: str = typer.Option(..., "--role", help="viewer | editor | inspector | gis | coordinator | admin"),
    days: int = typer.Option(365, help="Days until the token expires (0: never)."),
    unit: str | None = typer.Option(
        None, "--unit", help="The unit the account belongs to (id, name or alias), e.g. 石峰区人民政府."
    ),
    password: bool = typer.Option(False, "--password", help="Also give a password for browser sign-in (typed twice)."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read that password from standard input."),
) -> None:
    """Create a user (or give an existing one a new token); prints the token once.

    With ``--unit`` and ``--password`` one command makes a district editor who can sign in at /login:
    ``xiangmap users add 石峰区-李 --role editor --unit 石峰区人民政府 --password``.
    """
    from service.accounts import usecases
    from service.database import session_scope
    from service.errors import Problem
    from service.passwords import PasswordError, check_new_password
    from service.settings import get_settings
    from service.units import usecases as units

    secret = _read_password(password_stdin) if (password or password_stdin) else None
    min_length = get_settings().password_min_length
    try:
        with session_scope() as session:
            if secret is not None:
                check_new_password(secret, min_length)  # before anything is written
            if unit is not None:
                units.find_unit_id(session, unit)  # an unknown unit: nothing is written
            token = usecases.add_user(session, "cli", name, role, days or None)
            if unit is not None:
                units.assign_user(session, "cli", name, unit)
            if secret is not None:
                usecases.set_password(session, "cli", name, secret, min_length=min_length)
    except PasswordError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    except Problem as exc:
        typer.echo(exc.detail, err=True)
        raise typer.Exit(2) from exc
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


def _read_password(from_stdin: bool) -> str:
    """One line of standard input (scripts), or typed twice without echo (a person)."""
    if from_stdin:
        line = sys.stdin.readline()
        return line.rstrip("\r\n")
    return str(typer.prompt("密码 Password", hide_input=True, confirmation_prompt=True))


@app.command("set-password")
def set_password(
    name: str = typer.Argument(..., help="User name."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from standard input."),
) -> None:
    """Give a user a password for browser sign-in (/login); their other browser sessions end."""
    from service.accounts import usecases
    from service.database import session_scope
    from service.passwords import PasswordError
    from service.settings import get_settings

    password = _read_password(password_stdin)
    try:
        with session_scope() as session:
            done = usecases.set_password(session, "cli", name, password, min_length=get_settings().password_min_length)
    except PasswordError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    if not done:
        typer.echo(f"no user {name!r}", err=True)
        raise typer.Exit(1)
    typer.echo(f"password set for {name}")


@app.command("create-admin")
def create_admin(
    name: str = typer.Argument(..., help="User name of the new admin."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from standard input."),
) -> None:
    """Create an admin who can sign in in the browser (the first one, on a new install); prints their API token once."""
    from service.accounts import usecases
    from service.database import session_scope
    from service.settings import get_settings

    password = _read_password(password_stdin)
    try:
        with session_scope() as session:
            token = usecases.create_admin(session, "cli", name, password, min_length=get_settings().password_min_length)
    except ValueError as exc:  # the name is taken, or the password too weak (PasswordError)
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"admin {name} created; sign in at /login. API token (shown once):")
    typer.echo(token)
