"""The ``xiangmap`` command line: --help on every command, users and catalogue."""

from __future__ import annotations

import typer
from sqlalchemy import Engine, text
from typer.main import get_command
from typer.testing import CliRunner

from service.cli.main import app

runner = CliRunner()


def _all_command_paths(cmd, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:  # type: ignore[no-untyped-def]
    paths = [prefix]
    for name, sub in getattr(cmd, "commands", {}).items():
        paths += _all_command_paths(sub, (*prefix, name))
    return paths


def test_help_on_every_command() -> None:
    paths = _all_command_paths(get_command(app))
    assert ("db", "upgrade") in paths and ("serve",) in paths and ("users", "add") in paths
    for path in paths:
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "Usage" in result.output


def test_users_add_prints_token_once_and_stores_only_its_hash(engine: Engine) -> None:
    result = runner.invoke(app, ["users", "add", "cli-person", "--role", "editor"])
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    assert token.startswith("xm_")
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT token_hash FROM users WHERE name = 'cli-person'")).scalar_one()
        audited = conn.execute(text("SELECT count(*) FROM audit_log WHERE action = 'user.add'")).scalar_one()
    assert token not in stored and len(stored) == 64
    assert audited >= 1
    bad = runner.invoke(app, ["users", "add", "x", "--role", "emperor"])
    assert bad.exit_code != 0 and "unknown role" in bad.output


def test_catalogue_synced_from_layer_files(engine: Engine) -> None:
    from service.layers.catalogue import read_specs

    specs = {s.id for s in read_specs()}
    with engine.connect() as conn:
        rows = dict(conn.execute(text("SELECT id, title_zh FROM layer_catalogue")).all())
    assert set(rows) == specs
    assert rows["green_heart"] == "长株潭生态绿心"
    assert isinstance(typer.Typer(), typer.Typer)


def test_users_add_makes_a_district_editor_who_can_sign_in(engine: Engine) -> None:
    """One command: role, unit and password; an unknown unit or a short password writes nothing."""
    from service.passwords import verify_password

    result = runner.invoke(
        app,
        ["users", "add", "cli-shifeng", "--role", "editor", "--unit", "石峰区人民政府", "--password-stdin"],
        input="石峰区改革台账2018\n",
    )
    assert result.exit_code == 0, result.output
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT u.password_hash, un.name FROM users u JOIN units un ON un.id = u.unit_id"
                " WHERE u.name = 'cli-shifeng'"
            )
        ).one()
    assert row.name == "株洲市石峰区人民政府" and verify_password("石峰区改革台账2018", row.password_hash)
    for args, stdin in (
        (["--unit", "石峰去人民政府"], "石峰区改革台账2018\n"),
        (["--unit", "石峰区人民政府"], "short\n"),
    ):
        bad = runner.invoke(
            app, ["users", "add", "cli-nobody", "--role", "editor", *args, "--password-stdin"], input=stdin
        )
        assert bad.exit_code == 2, bad.output
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM users WHERE name = 'cli-nobody'")).scalar_one() == 0
