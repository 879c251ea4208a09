"""Rules of published layers (issue 20): refused with the line at fault, stored append-only, in force by scheme.

The checks run on text whose lines are known; the store runs against the real database in one transaction
rolled back afterwards, with a published protected layer of its own in the catalogue (no table is needed to
keep rules).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from service.errors import Problem
from service.screening.rules import RulesError, category_ids, load_rules, parse_scheme
from service.screening.rules_store import (
    check_rules,
    published_schemes,
    rulebook,
    rules_content,
    rules_history,
    scheme_for_record,
    store_rules,
)
from service.settings import PROJECT_ROOT

LAYER = "t20_redline"
GOOD = """\
layer: t20_redline
scheme: "*"
title: 测试生态保护红线
valid_from: 2024-01-01
valid_to: null
regulation: 测试条例
all_subzones:
  industrial:
    verdict: prohibited
    clause: 禁止工业。
subzones:
  "*":
    default:
      verdict: needs_approval
      by: 省人民政府
      clause: 须经批准。
"""


def line_of(content: str, line: str) -> int:
    """The 1-based number of the line that is exactly ``line`` (once in the text)."""
    [number] = [n for n, text_line in enumerate(content.splitlines(), start=1) if text_line == line]
    return number


def refused(content: str, layer: str = LAYER) -> RulesError:
    with pytest.raises(RulesError) as caught:
        check_rules(layer, content.encode("utf-8"))
    error = caught.value
    assert error.line is not None and f"line {error.line}" in str(error)
    return error


def test_a_yaml_syntax_error_names_its_line() -> None:
    bad = GOOD.replace("    clause: 禁止工业。", "    clause: 禁止: 工业")
    assert refused(bad).line == line_of(bad, "    clause: 禁止: 工业")


def test_an_unknown_category_names_the_line_of_its_key() -> None:
    bad = GOOD.replace("  industrial:", "  industrail:")
    error = refused(bad)
    assert (error.line, error.field) == (line_of(bad, "  industrail:"), "all_subzones.industrail")
    assert "unknown category 'industrail'" in str(error)


def test_a_verdict_without_clause_or_authority_names_the_line_of_its_mapping() -> None:
    no_clause = GOOD.replace("      clause: 须经批准。\n", "")
    error = refused(no_clause)
    assert (error.line, error.field) == (line_of(no_clause, "      verdict: needs_approval"), "subzones.*.default")
    assert "needs a 'clause'" in str(error)
    no_authority = GOOD.replace("      by: 省人民政府\n", "")
    assert "must say 'by' whom" in str(refused(no_authority))
    misused = GOOD.replace("verdict: prohibited", "verdict: not_applicable")
    assert refused(misused).line == line_of(misused, "    verdict: not_applicable")


def test_a_file_for_another_layer_names_the_line_of_its_layer() -> None:
    moved = "# 另一图层的规则\n" + GOOD
    error = refused(moved, layer="t20_other")
    assert (error.line, error.field) == (2, "layer")
    assert "'t20_redline', not 't20_other'" in str(error)


def test_dates_out_of_order_or_not_dates_name_their_line() -> None:
    backwards = GOOD.replace("valid_to: null", "valid_to: 2023-01-01")
    error = refused(backwards)
    assert (error.line, error.field) == (line_of(backwards, "valid_to: 2023-01-01"), "valid_to")
    for value in ("soon", "2024-13-01"):
        bad = GOOD.replace("valid_from: 2024-01-01", f"valid_from: {value}")
        assert refused(bad).line == line_of(bad, f"valid_from: {value}")


def test_the_shape_of_the_file_is_checked_with_lines() -> None:
    assert refused("- layer\n- scheme\n").line == 1
    without = refused("# 规则\n" + GOOD.replace("regulation: 测试条例\n", ""))
    assert (without.line, without.field) == (2, "regulation")  # where the top-level mapping starts
    scalar = GOOD[: GOOD.index("\nsubzones:")] + '\nsubzones:\n  "*": prohibited\n'
    error = refused(scalar)
    assert (error.line, error.field) == (line_of(scalar, '  "*": prohibited'), "subzones.*")


def test_only_small_utf8_text_is_read() -> None:
    with pytest.raises(RulesError, match="UTF-8") as caught:
        check_rules(LAYER, GOOD.encode("gb18030"))
    assert caught.value.line == line_of(GOOD, "title: 测试生态保护红线")
    with pytest.raises(RulesError, match="at most"):
        check_rules(LAYER, GOOD.encode("utf-8") + b"#" * (256 * 1024))


def test_an_upload_reads_as_the_same_file_would(tmp_path: Path) -> None:
    (tmp_path / "rules.yaml").write_text(GOOD, "utf-8")
    from_file = parse_scheme(tmp_path / "rules.yaml", *category_ids(load_rules().categories))
    uploaded = check_rules(LAYER, GOOD.encode("utf-8"))
    assert uploaded == replace(from_file, path="upload")
    for category in ("industrial", "farmland", "non_construction", "unspecified"):
        assert uploaded.verdict_for(None, category) == from_file.verdict_for(None, category)


@pytest.mark.parametrize("path", sorted((PROJECT_ROOT / "geodata" / "rules").glob("*/*.yaml")), ids=str)
def test_every_bundled_file_passes_the_upload_check_unchanged(path: Path) -> None:
    """The upload check is the files' own parser: each bundled file passes it and reads as the rule book has it."""
    bundled = next(s for s in load_rules().schemes if s.path == str(path.relative_to(PROJECT_ROOT)))
    uploaded = check_rules(bundled.layer, path.read_bytes(), bundled.path)
    assert uploaded == bundled


@pytest.fixture
def session(rolled_back_session: Session) -> Session:
    """A transaction with a published protected layer, a published unprotected one and a retired one."""
    for layer_id, protected, status in (
        (LAYER, True, "active"),
        ("t20_plain", False, "active"),
        ("t20_gone", True, "retired"),
    ):
        rolled_back_session.execute(
            text(
                "INSERT INTO layer_catalogue (id, title_zh, title_en, geometry_type, protected, origin, status) "
                "VALUES (:id, '测试红线', 'test red line', 'MULTIPOLYGON', :protected, 'published', :status)"
            ),
            {"id": layer_id, "protected": protected, "status": status},
        )
    return rolled_back_session


def test_stored_rules_are_in_force_and_a_new_upload_of_a_scheme_supersedes(session: Session) -> None:
    first = store_rules(session, LAYER, GOOD.encode("utf-8"), actor="test-gis", note="首版")
    assert (first["layer"], first["scheme"], first["valid_from"], first["supersedes"]) == (
        LAYER,
        "*",
        "2024-01-01",
        None,
    )
    [scheme] = [s for s in published_schemes(session) if s.layer == LAYER]
    assert scheme.path == f"layer_rules/{first['id']}" and scheme.sha256 == first["sha256"]
    book = rulebook(session)
    assert book.scheme(LAYER, None, date(2025, 1, 1)) == scheme
    assert book.scheme(LAYER, None, date(2023, 1, 1)) is None  # before its date in force
    assert book.scheme("green_heart", "2024", date(2025, 1, 1)) is not None  # the files are still there

    stricter = GOOD.replace("verdict: needs_approval\n      by: 省人民政府\n", "verdict: prohibited\n")
    second = store_rules(session, LAYER, stricter.encode("utf-8"), actor="test-gis")
    assert second["supersedes"] == first["id"]
    in_force = rulebook(session).scheme(LAYER, None, date(2025, 1, 1))
    assert in_force is not None and in_force.path == f"layer_rules/{second['id']}"
    assert in_force.verdict_for(None, "farmland").verdict == "prohibited"

    history = rules_history(session, LAYER)
    assert [(h["id"], h["superseded_by"]) for h in history] == [(second["id"], None), (first["id"], second["id"])]
    assert "content" not in history[0]
    assert rules_content(session, first["id"]) == GOOD.encode("utf-8")
    # a screening recorded against the first keeps its rules
    replayed = scheme_for_record(session, f"layer_rules/{first['id']}", first["sha256"])
    assert replayed is not None and replayed.verdict_for(None, "farmland").verdict == "needs_approval"
    assert scheme_for_record(session, f"layer_rules/{first['id']}", "0" * 64) is None
    assert scheme_for_record(session, "geodata/rules/green_heart/2024.yaml", None) is None

    audited = session.execute(
        text("SELECT entity_id, actor, after FROM audit_log WHERE action = 'rules' AND entity = :e ORDER BY id"),
        {"e": f"layer:{LAYER}"},
    ).all()
    assert [(a.entity_id, a.actor) for a in audited] == [
        (str(first["id"]), "test-gis"),
        (str(second["id"]), "test-gis"),
    ]
    assert audited[0].after["sha256"] == first["sha256"] and audited[1].after["supersedes"] == first["id"]


def test_a_retired_layer_s_rules_are_not_in_force(session: Session) -> None:
    store_rules(session, LAYER, GOOD.encode("utf-8"), actor="test-gis")
    session.execute(text("UPDATE layer_catalogue SET status = 'retired' WHERE id = :id"), {"id": LAYER})
    assert rulebook(session).scheme(LAYER, None, date(2025, 1, 1)) is None


def test_a_malformed_upload_is_a_400_with_its_line(session: Session) -> None:
    bad = GOOD.replace("  industrial:", "  industrail:")
    with pytest.raises(Problem) as caught:
        store_rules(session, LAYER, bad.encode("utf-8"), actor="test-gis")
    problem = caught.value
    assert problem.status == 400 and f"line {line_of(bad, '  industrail:')}" in problem.detail
    assert problem.extra == {"parameter": "rules", "line": 8, "field": "all_subzones.industrail"}
    assert rules_history(session, LAYER) == []


@pytest.mark.parametrize(
    ("layer_id", "status"), [("t20_nowhere", 404), ("t20_plain", 422), ("t20_gone", 422), ("green_heart", 422)]
)
def test_rules_only_for_an_active_published_protected_layer(session: Session, layer_id: str, status: int) -> None:
    content = GOOD.replace(f"layer: {LAYER}", f"layer: {layer_id}").encode("utf-8")
    with pytest.raises(Problem) as caught:
        store_rules(session, layer_id, content, actor="test-gis")
    assert caught.value.status == status and caught.value.extra["parameter"] == "layer"


def test_other_areas_reach_the_store_through_the_use_cases(session: Session) -> None:
    """``service.layers`` may import only ``service.screening.usecases``: the store is offered there."""
    from service.screening import usecases

    stored = usecases.store_layer_rules(session, "test-gis", LAYER, GOOD.encode("utf-8"), "首版")
    assert [h["id"] for h in usecases.layer_rules_history(session, LAYER)] == [stored["id"]]
    assert usecases.layer_rules_content(session, LAYER, stored["id"]) == GOOD.encode("utf-8")
    with pytest.raises(Problem) as caught:
        usecases.layer_rules_content(session, "t20_plain", stored["id"])  # not that layer's file
    assert caught.value.status == 404
    assert any(s["rules_file"] == f"layer_rules/{stored['id']}" for s in usecases.rules_in_force(session)["schemes"])
