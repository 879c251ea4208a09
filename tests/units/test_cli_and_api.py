"""`xiangmap units` and /units: listing, resolving, fixing an unresolved name (alias → relink), renaming, rights."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from service.cli.main import app
from tests.units.conftest import TAG, Plans

runner = CliRunner()


@pytest.fixture
def cleanup(owner_engine: Engine) -> Iterator[None]:
    """Units and aliases a test adds to the shared register are removed after it."""
    yield
    with owner_engine.begin() as conn:
        conn.execute(text("DELETE FROM unit_aliases WHERE alias IN ('市住建居') OR alias LIKE :t"), {"t": f"%{TAG}%"})
        conn.execute(text("DELETE FROM units WHERE name LIKE :t"), {"t": f"%{TAG}%"})


def test_list_and_resolve(engine: Engine) -> None:
    listed = runner.invoke(app, ["units", "list", "--city", "株洲市", "--kind", "district_government"])
    assert listed.exit_code == 0, listed.output
    assert "株洲市石峰区人民政府" in listed.output and "长沙市" not in listed.output
    found = runner.invoke(app, ["units", "resolve", "市环保局", "--city", "株洲市", "--on", "2018-03-31"])
    assert found.exit_code == 0 and "株洲市生态环境局" in found.output
    flagged = runner.invoke(app, ["units", "resolve", "市住建居", "--city", "株洲市"])
    assert flagged.exit_code == 1 and "株洲市住房和城乡建设局" in flagged.output


def test_load_twice_adds_nothing(engine: Engine) -> None:
    result = runner.invoke(app, ["units", "load"])
    assert result.exit_code == 0, result.output
    assert "0 units, 0 aliases, 0 groups, 0 members added" in result.output


def test_unresolved_name_fixed_by_an_alias_and_relinked(engine: Engine, plans: Plans, cleanup: None) -> None:
    before = runner.invoke(app, ["units", "unresolved", "--plan", plans.zhuzhou])
    assert before.exit_code == 0 and "市住建居" in before.output and "株洲市住房和城乡建设局" in before.output
    added = runner.invoke(app, ["units", "add-alias", "株洲市住房和城乡建设局", "市住建居"])
    assert added.exit_code == 0, added.output
    with engine.connect() as conn:
        linked = (
            conn.execute(
                text(
                    "SELECT u.name FROM project_units pu JOIN units u ON u.id = pu.unit_id"
                    " WHERE pu.project_id = :p AND pu.raw = '市住建居'"
                ),
                {"p": plans.ids["typo"]},
            )
            .scalars()
            .all()
        )
    assert linked == ["株洲市住房和城乡建设局"]
    after = runner.invoke(app, ["units", "unresolved", "--plan", plans.zhuzhou])
    assert "市住建居" not in after.output
    again = runner.invoke(app, ["units", "relink", "--plan", plans.zhuzhou])
    assert again.exit_code == 0 and " 0 relinked" in again.output


def test_add_rename_and_assign(engine: Engine, plans: Plans, cleanup: None) -> None:
    old, new = f"株洲市测试局{TAG}", f"株洲市新测试局{TAG}"
    added = runner.invoke(app, ["units", "add", old, "--kind", "department", "--parent", "株洲市人民政府"])
    assert added.exit_code == 0, added.output
    renamed = runner.invoke(app, ["units", "rename", old, new, "--on", "2019-01-01"])
    assert renamed.exit_code == 0, renamed.output
    before = runner.invoke(app, ["units", "resolve", old, "--city", "株洲市", "--on", "2018-06-01"])
    after = runner.invoke(app, ["units", "resolve", new, "--city", "株洲市", "--on", "2020-06-01"])
    assert before.output.split("\t")[0] == after.output.split("\t")[0]  # the same id
    late = runner.invoke(app, ["units", "resolve", old, "--city", "株洲市", "--on", "2020-06-01"])
    assert late.exit_code == 1
    assigned = runner.invoke(app, ["units", "assign-user", f"{TAG}-editor-none", new])
    assert assigned.exit_code == 0 and new in assigned.output
    runner.invoke(app, ["units", "assign-user", f"{TAG}-editor-none", "--none"])
    refused = runner.invoke(app, ["units", "add", f"错{TAG}", "--kind", "nonsense"])
    assert refused.exit_code == 1 and "kind" in refused.output


def test_api_reads(client: TestClient, engine: Engine) -> None:
    listed = client.get("/units", params={"city": "株洲市", "q": "生态环境"}).json()["units"]
    [unit] = listed
    full = client.get(f"/units/{unit['id']}").json()
    assert {a["alias"] for a in full["aliases"]} >= {"市环保局", "市生态环境局"}
    assert full["parent"]["name"] == "株洲市人民政府"
    resolved = client.get("/units/resolve", params={"name": "市住建居", "city": "株洲市", "on": "2018-03-31"}).json()
    assert not resolved["resolved"] and resolved["suggestions"][0]["unit"] == "株洲市住房和城乡建设局"
    assert client.get("/units/2147483000").status_code == 404
    assert "unresolved" in client.get("/units/unresolved").json()


def test_only_coordinators_and_admins_change_the_register(
    client: TestClient, auth: dict[str, dict[str, str]], cleanup: None
) -> None:
    body = {
        "name": f"株洲市接口测试局{TAG}",
        "kind": "department",
        "parent": "株洲市人民政府",
        "short_name": f"市接口{TAG}",
    }
    assert client.post("/units", json=body).status_code == 401
    assert client.post("/units", json=body, headers=auth["editor"]).status_code == 403
    made = client.post("/units", json=body, headers=auth["coordinator"])
    assert made.status_code == 201, made.text
    assert made.json()["city"] == "株洲市"
    again = client.post("/units", json=body, headers=auth["admin"])
    assert again.status_code == 400 and "already" in again.json()["detail"]
    alias = client.post(
        f"/units/{made.json()['id']}/aliases", json={"alias": f"接口局{TAG}"}, headers=auth["coordinator"]
    )
    assert alias.status_code == 201, alias.text
    assert (
        client.post(f"/units/{made.json()['id']}/accounts", json={"user": "x"}, headers=auth["coordinator"]).status_code
        == 403
    )
