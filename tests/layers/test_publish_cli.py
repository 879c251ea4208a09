"""``xiangmap layers inspect|publish|replace|append|retire|restore|history|rules`` (issue 20)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from service.cli.main import app as cli
from tests.layers.published_kit import drop_published
from tests.layers.redline_files import REDLINE_V1, REDLINE_V2, write_redline_shapefile


@pytest.fixture
def layer_id(owner_engine: Engine, engine: Engine) -> Iterator[str]:
    name = f"cli_redline_{uuid.uuid4().hex[:6]}"
    yield name
    drop_published(owner_engine, name)


def test_a_gis_officer_publishes_and_replaces_from_the_command_line(
    layer_id: str, tmp_path: Path, engine: Engine
) -> None:
    v1 = write_redline_shapefile(tmp_path / "v1", REDLINE_V1, with_cpg=False)
    runner = CliRunner()
    seen = runner.invoke(cli, ["layers", "inspect", str(v1)])
    assert seen.exit_code == 0, seen.output
    assert "EPSG:4546" in seen.output and "韶山水源涵养生态保护红线" in seen.output and "GB18030" in seen.output
    done = runner.invoke(
        cli,
        [
            "layers",
            "publish",
            str(v1),
            "--id",
            layer_id,
            "--title",
            "生态保护红线",
            "--key",
            "BH",
            "--name",
            "HXMC",
            "--subzone",
            "LX",
            "--protected",
            "--type",
            "PZRQ=date",
        ],
    )
    assert done.exit_code == 0, done.output
    assert f"{layer_id} version 1: 3 rows" in done.output
    with engine.connect() as conn:
        kinds = dict(
            conn.execute(
                text("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = :t"),
                {"t": layer_id},
            ).all()
        )
        parts = conn.execute(text("SELECT count(*) FROM screening_zone_parts WHERE layer = :t"), {"t": layer_id})
        assert parts.scalar() == 3
    assert kinds["pzrq"] == "date" and kinds["mj_gq"] == "double precision" and kinds["subzone"] == "text"
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        f"layer: {layer_id}\nscheme: '*'\nregulation: 红线\nsubzones:\n  水源涵养:\n    default:\n"
        "      verdict: prohibited\n",
        encoding="utf-8",
    )
    refused = runner.invoke(cli, ["layers", "rules", layer_id, str(rules)])
    assert refused.exit_code == 2 and "line 7" in refused.output, refused.output
    rules.write_text(rules.read_text(encoding="utf-8") + "      clause: 禁止开发。\n", encoding="utf-8")
    accepted = runner.invoke(cli, ["layers", "rules", layer_id, str(rules)])
    assert accepted.exit_code == 0, accepted.output
    v2 = write_redline_shapefile(tmp_path / "v2", REDLINE_V2)
    replaced = runner.invoke(cli, ["layers", "replace", layer_id, str(v2)])
    assert replaced.exit_code == 0, replaced.output
    assert "version 2" in replaced.output and "1 removed" in replaced.output
    appended = runner.invoke(cli, ["layers", "append", layer_id, str(v1)])
    assert appended.exit_code == 0 and "version 3" in appended.output, appended.output
    history = runner.invoke(cli, ["layers", "history", layer_id])
    assert history.exit_code == 0 and "append" in history.output and "publish" in history.output
    assert runner.invoke(cli, ["layers", "retire", layer_id]).exit_code == 0
    again = runner.invoke(cli, ["layers", "retire", layer_id])
    assert again.exit_code == 2 and "already retired" in again.output
    assert runner.invoke(cli, ["layers", "restore", layer_id]).exit_code == 0
    bad = runner.invoke(cli, ["layers", "publish", str(v1), "--id", "../x", "--title", "x"])
    assert bad.exit_code == 2 and "layer id" in bad.output
