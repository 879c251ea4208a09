"""Evidence files: photos and PDFs accepted by what their bytes are (a program renamed .jpg, a truncated JPEG, an
oversize file refused), stored with SHA-256 in the report's transaction (a refused report stores none), and
downloaded only by signed-in users as attachments of the stored type."""

from __future__ import annotations

import hashlib
import json
import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from shapely.geometry import LineString
from sqlalchemy import Engine, text

from service.tasks.evidence import EvidenceError, check
from tests.progress.world import geojson
from tests.tasks.conftest import PDF, TaskWorld, done_part, jpeg, png, post_report, webp
from tests.web.conftest import BROWSER_ACCEPT

FIELDS = {"period": "2018-08", "status": "推进中", "percent": "65", "note": "现场照片见附件"}


def evidence_rows(engine: Engine, task_id: int) -> list[dict]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT e.id, e.report_id, e.filename, e.media_type, e.size, e.sha256, e.uploaded_by,"
                " r.project_id = e.project_id AS same_project"
                " FROM evidence_files e JOIN progress_reports r ON r.id = e.report_id"
                " WHERE e.project_id = :p ORDER BY e.id"
            ),
            {"p": task_id},
        ).mappings()
        return [dict(r) for r in rows]


def report_count(engine: Engine, task_id: int) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                text("SELECT count(*) FROM progress_reports WHERE project_id = :p"), {"p": task_id}
            ).scalar_one()
        )


def error_of(html: str) -> str:
    return " ".join(re.findall(r'<p class="field-error" id="e-evidence-\d+" role="alert">([^<]*)</p>', html))


@pytest.fixture
def area(owner_engine: Engine, world: TaskWorld):  # type: ignore[no-untyped-def]
    yield world.ids["area"]
    with owner_engine.begin() as conn:
        conn.execute(text("DELETE FROM progress_reports WHERE project_id = :p"), {"p": world.ids["area"]})


def test_photos_and_a_pdf_are_stored_with_their_checksums(
    editor_browser: TestClient, world: TaskWorld, engine: Engine, area: int
) -> None:
    files = [
        ("evidence", ("现场照片.jpg", jpeg(), "image/jpeg")),
        ("evidence", ("plan.png", png(), "image/png")),
        ("evidence", ("night.webp", webp(), "image/webp")),
        ("evidence", ("验收报告.pdf", PDF, "application/pdf")),
    ]
    r = post_report(editor_browser, area, FIELDS, files)
    assert r.status_code == 303, r.text
    rows = evidence_rows(engine, area)
    assert [(row["filename"], row["media_type"]) for row in rows] == [
        ("现场照片.jpg", "image/jpeg"),
        ("plan.png", "image/png"),
        ("night.webp", "image/webp"),
        ("验收报告.pdf", "application/pdf"),
    ]
    for row, (_, (_, content, _)) in zip(rows, files, strict=True):
        assert row["sha256"] == hashlib.sha256(content).hexdigest() and row["size"] == len(content)
        assert row["uploaded_by"] == world.editor.name and row["same_project"]
    assert len({row["report_id"] for row in rows}) == 1
    page = editor_browser.get(f"/tasks/{area}").text.split('id="evidence"')[1]
    assert f'href="/tasks/{area}/evidence/{rows[0]["id"]}" download>现场照片.jpg</a>' in page
    assert "2018-08 报告" in page and world.editor.name in page and "image/jpeg" in page


def test_a_download_is_an_attachment_of_the_stored_type(
    editor_browser: TestClient, viewer_browser: TestClient, app: FastAPI, world: TaskWorld, engine: Engine, area: int
) -> None:
    photo = jpeg()
    assert (
        post_report(editor_browser, area, FIELDS, [("evidence", ("现场 照片.JPG", photo, "text/html"))]).status_code
        == 303
    )
    (row,) = evidence_rows(engine, area)
    url = f"/tasks/{area}/evidence/{row['id']}"
    r = viewer_browser.get(url)  # any signed-in user may read the evidence
    assert r.status_code == 200 and r.content == photo
    assert r.headers["content-type"] == "image/jpeg"  # what the bytes are, not what the browser said
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-disposition"] == (
        "attachment; filename=\"evidence.jpg\"; filename*=UTF-8''%E7%8E%B0%E5%9C%BA%20%E7%85%A7%E7%89%87.JPG"
    )
    with TestClient(app, follow_redirects=False) as anonymous:
        r = anonymous.get(url, headers={"Accept": BROWSER_ACCEPT})
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
        assert anonymous.get(url).content != photo
    other = world.ids["other"]
    r = viewer_browser.get(f"/tasks/{other}/evidence/{row['id']}", headers={"Accept": BROWSER_ACCEPT})
    assert r.status_code == 404  # a file is reached through its own task only


def test_a_program_renamed_jpg_is_refused_and_nothing_is_stored(
    editor_browser: TestClient, world: TaskWorld, engine: Engine, area: int
) -> None:
    program = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 200
    r = post_report(editor_browser, area, FIELDS, [("evidence", ("photo.jpg", program, "image/jpeg"))])
    assert r.status_code == 415
    assert "“photo.jpg”不是照片（JPEG、PNG、WebP）或 PDF：其内容是Windows 可执行程序" in error_of(r.text)
    assert "并重新选择要上传的文件" in r.text and 'value="65"' in r.text  # the rest of the form kept
    assert report_count(engine, area) == 0 and evidence_rows(engine, area) == []


def test_a_truncated_jpeg_is_refused(editor_browser: TestClient, world: TaskWorld, engine: Engine, area: int) -> None:
    photo = jpeg(400, 300)
    r = post_report(editor_browser, area, FIELDS, [("evidence", ("cut.jpg", photo[: len(photo) // 2], "image/jpeg"))])
    assert r.status_code == 422 and "“cut.jpg”图片已损坏或不完整" in error_of(r.text)
    assert report_count(engine, area) == 0


def test_an_oversize_file_is_refused(editor_browser: TestClient, world: TaskWorld, engine: Engine, area: int) -> None:
    from service.settings import get_settings

    big = jpeg() + b"\x00" * (get_settings().max_evidence_mb * 1024 * 1024)
    r = post_report(editor_browser, area, FIELDS, [("evidence", ("big.jpg", big, "image/jpeg"))])
    assert r.status_code == 413 and f"“big.jpg”超过 {get_settings().max_evidence_mb} MB" in error_of(r.text)
    assert report_count(engine, area) == 0


def test_a_refused_report_stores_no_evidence(editor_browser: TestClient, world: TaskWorld, engine: Engine) -> None:
    road = world.ids["road"]
    before, files = report_count(engine, road), [("evidence", ("ok.jpg", jpeg(), "image/jpeg"))]
    far = geojson(LineString([(0, 5000), (800, 5000)]))  # add_report refuses it: off the task
    r = post_report(editor_browser, road, FIELDS | {"done_geom": json.dumps(far)}, files)
    assert r.status_code == 400
    assert report_count(engine, road) == before and evidence_rows(engine, road) == []
    r = post_report(editor_browser, road, FIELDS | {"percent": "abc"}, files)  # the form's own refusal
    assert r.status_code == 422 and report_count(engine, road) == before and evidence_rows(engine, road) == []


def test_evidence_and_the_drawn_part_go_together(
    editor_browser: TestClient, world: TaskWorld, engine: Engine, owner_engine: Engine
) -> None:
    road = world.ids["road"]
    drawn = json.dumps({"type": "MultiLineString", "coordinates": [done_part(1500)["coordinates"]]})
    r = post_report(
        editor_browser, road, FIELDS | {"done_geom": drawn}, [("evidence", ("a.jpg", jpeg(), "image/jpeg"))]
    )
    assert r.status_code == 303, r.text
    (row,) = evidence_rows(engine, road)
    with engine.connect() as conn:
        latest = conn.execute(
            text(
                "SELECT id, done_geom IS NOT NULL FROM progress_reports WHERE project_id = :p ORDER BY id DESC LIMIT 1"
            ),
            {"p": road},
        ).one()
    assert tuple(latest) == (row["report_id"], True)
    with owner_engine.begin() as conn:
        conn.execute(text("DELETE FROM progress_reports WHERE id = :id"), {"id": row["report_id"]})
    assert evidence_rows(engine, road) == []  # the files go with their report


@pytest.mark.parametrize(
    ("name", "content", "status", "words"),
    [
        ("scan.pdf", b"%PDF-1.4\n1 0 obj<<>>endobj\n", 422, "PDF 文件不完整"),
        ("photo.png", jpeg(), 415, "内容是JPEG 照片，但文件名后缀是“.png”"),
        ("page.jpg", b"<html><script>alert(1)</script></html>", 415, "网页或 XML、SVG 文档"),
        ("empty.jpg", b"", 422, "是空文件"),
        ("anim.gif", b"GIF89a" + b"\x00" * 20, 415, "GIF 图片"),
    ],
)
def test_what_is_not_a_photo_or_a_pdf(name: str, content: bytes, status: int, words: str) -> None:
    with pytest.raises(EvidenceError) as refused:
        check(name, content)
    assert refused.value.status == status and words in str(refused.value) and " / " in str(refused.value)


def test_a_name_never_carries_a_folder() -> None:
    assert check("C:\\Users\\张\\..\\现场.jpg", jpeg()).filename == "现场.jpg"
    assert check("../../etc/x.pdf", PDF).filename == "x.pdf"


def test_a_hostile_file_name_is_shown_as_text(
    editor_browser: TestClient, world: TaskWorld, engine: Engine, area: int
) -> None:
    name = "<img src=x onerror=alert(1)>现场.jpg"
    assert post_report(editor_browser, area, FIELDS, [("evidence", (name, jpeg(), "image/jpeg"))]).status_code == 303
    (row,) = evidence_rows(engine, area)
    page = editor_browser.get(f"/tasks/{area}").text
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;现场.jpg" in page
    r = editor_browser.get(f"/tasks/{area}/evidence/{row['id']}")
    assert r.headers["content-disposition"].startswith('attachment; filename="img_src_x_onerror_alert_1')
    assert "\n" not in r.headers["content-disposition"] and "<" not in r.headers["content-disposition"]
