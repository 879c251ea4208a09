"""What GIS staff do on the layer pages: read the catalogue, preview a file, publish it, follow the job, change,
retire or protect a layer, and give a protected layer its screening rules.

Every change is a use case of ``service.layers.usecases`` (the same as the JSON API's): this module shapes what
the pages show (Chinese labels, the form's values as typed) and checks the form before a background job is
started, so that a mistyped layer id or a column name is said beside the form at once (400 / 409) instead of
after the file has been read by the job.  The job checks everything again.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy.orm import Session

from service.errors import Problem
from service.layers import usecases as layers
from service.models import LayerEntry
from service.ogc import usecases as ogc

PHASE_LABELS = {"copy": "读取并写入暂存", "check": "逐行检查", "write": "写入图层", "index": "建立索引"}
STATE_LABELS = {"queued": "排队中", "running": "进行中", "done": "已完成", "failed": "失败"}
ACTION_LABELS = {"publish": "发布", "replace": "替换全部", "append": "追加更新", "retire": "停用", "restore": "恢复"}
MODES = (("replace", "替换全部"), ("append", "追加更新"))
GEOMETRIES = (
    ("MultiPolygon", "面 MultiPolygon"),
    ("MultiLineString", "线 MultiLineString"),
    ("Point", "点 Point"),
    ("MultiPoint", "多点 MultiPoint"),
    ("Geometry", "混合 Geometry"),
)
GEOMETRY_LABELS = dict(GEOMETRIES) | {"Polygon": "面 Polygon", "LineString": "线 LineString"}
ENCODINGS = (
    ("", "自动识别（UTF-8 或 GBK）"),
    ("UTF-8", "UTF-8"),
    ("GBK", "GBK"),
    ("GB18030", "GB18030"),
    ("Big5", "Big5"),
)
# the layer id is the table name and the OGC collection id (service.layers.names checks it again in the job);
# "new" is the upload page's own path (/gis/layers/new)
LAYER_ID = layers.LAYER_ID
PAGE_PATHS = frozenset({"new"})
COLUMN = re.compile(r"^\w+$")
MAX_COLUMN_BYTES = 63


def _time(value: Any) -> datetime | None:
    """A timestamp from the database or from a JSON answer (ISO text), for the ``local_time`` filter."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


@lru_cache(maxsize=1)
def crs_labels() -> dict[str, str]:
    """Every CRS a person may choose, by code: WGS84, CGCS2000, each CGCS2000 Gauss-Krüger zone, GCJ-02, BD-09."""
    return dict(layers.crs_choices())


# ---------------------------------------------------------------- the catalogue


def overview(session: Session) -> dict[str, Any]:
    """Every layer, bundled and published, with what the list shows; in use first, then by id."""
    rows = [
        {
            "id": entry["id"],
            "title_zh": entry["title_zh"],
            "geometry": GEOMETRY_LABELS.get(entry["geometry_type"], entry["geometry_type"]),
            "features": entry["features"],
            "published": entry["origin"] == "published",
            "active": entry["status"] == "active",
            "version": entry["version"],
            "protected": entry["protected"],
        }
        for entry in layers.list_layers(session)
    ]
    session.rollback()
    rows.sort(key=lambda r: (not r["active"], not r["published"], r["id"]))
    return {"layers": rows}


def _entry(session: Session, layer_id: str) -> LayerEntry:
    found = session.get(LayerEntry, layer_id) if LAYER_ID.match(layer_id) else None
    if found is None:
        raise Problem(404, f"没有图层 {layer_id} / no layer {layer_id!r}", parameter="layer_id")
    return found


def layer_view(session: Session, layer_id: str) -> dict[str, Any]:
    """One layer's facts, its versions (published) or recent loads (bundled), and its screening rules."""
    entry = _entry(session, layer_id)
    published = entry.origin == "published"
    view: dict[str, Any] = {
        "layer": {
            "id": entry.id,
            "title_zh": entry.title_zh,
            "title_en": entry.title_en,
            "description": entry.description or "",
            "source": entry.source or "",
            "licence": entry.licence or "",
            "geometry": GEOMETRY_LABELS.get(entry.geometry_type, entry.geometry_type),
            "published": published,
            "active": entry.status == "active",
            "version": entry.version,
            "protected": entry.protected,
            "published_by": entry.published_by or "",
            "gazetteer": entry.gazetteer,
            "fields": [f for f in (entry.fields or []) if isinstance(f, dict)],
            "properties": dict(entry.properties or {}),
        },
        "versions": [],
        "loads": [],
        "rules": [],
        "features": None,
        "modes": MODES,
    }
    if published:
        versions = layers.history(session, layer_id)["versions"]
        view["versions"] = [_version_row(v) for v in versions]
        view["features"] = versions[0]["features"] if versions else None
        rules = layers.rules_history(session, layer_id)["rules"]
        view["rules"] = [r | {"at": _time(r["at"]), "in_force": r.get("superseded_by") is None} for r in rules]
        view["rules_text"] = (
            layers.rules_content(session, layer_id, rules[0]["id"]).decode("utf-8", "replace")
            if rules
            else rules_template(entry)
        )
    else:
        try:
            found = layers.get_layer(session, layer_id)
        except Problem:
            found = {}
        view["features"] = found.get("features")
        view["loads"] = [load | {"at": _time(load.get("at"))} for load in found.get("loads", [])]
        view["rules_text"] = ""
    session.rollback()
    return view


def _version_row(v: dict[str, Any]) -> dict[str, Any]:
    sha = v.get("file_sha256") or ""
    return v | {
        "action_label": ACTION_LABELS.get(v["action"], v["action"]),
        "at": _time(v["at"]),
        "sha_short": sha[:12],
        "sha": sha,
    }


def _yaml_text(value: str) -> str:
    """A one-line YAML string in double quotes (a title may hold a colon or a quote)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def rules_template(entry: LayerEntry) -> str:
    """A rules file to start from for a layer that has none (the format of geodata/rules/README.md).

    ``scheme: "*"`` (a published layer's zones carry no scheme of their own) and one sub-zone ``"*"``: a zone
    whose sub-zone is empty, or not listed, is judged by it (``Scheme.verdict_for`` falls back to ``"*"``).
    """
    subzone = (entry.properties or {}).get("subzone_field")
    by_subzone = (
        f'# 图层按分区字段 {subzone} 区分子区：可在 subzones 下按其取值各写一段（格式同 "*"），\n'
        '# 未列出的子区按 "*"。\n'
        if subzone
        else ""
    )
    return (
        f"# {entry.title_zh}（{entry.id}）的筛查规则：格式见 geodata/rules/README.md，改好后提交。\n"
        "# verdict 可为 prohibited（禁止）、needs_approval（须审批，写明 by）、allowed（允许）。\n"
        f"layer: {entry.id}\n"
        'scheme: "*"\n'
        f"title: {_yaml_text(entry.title_zh)}\n"
        f"valid_from: {date.today().isoformat()}\n"
        "valid_to: null\n"
        f"regulation: {_yaml_text(entry.title_zh + '管理规定（请填写法规名称与施行日期）')}\n"
        'regulation_en: ""\n'
        'basis: "xiangmap 摘要，以正式文本为准"\n'
        "\n"
        "all_subzones:\n"
        "  industrial:\n"
        "    verdict: prohibited\n"
        "    clause: 区内禁止新建、扩建工业项目。\n"
        "  mining:\n"
        "    verdict: prohibited\n"
        "    clause: 区内禁止采矿、采石、挖砂等破坏山体和植被的活动。\n"
        "\n"
        f"{by_subzone}"
        "subzones:\n"
        '  "*":\n'
        "    default:\n"
        "      verdict: needs_approval\n"
        "      by: 请填写审批机关\n"
        "      clause: 区内的建设项目须经审批机关同意。\n"
    )


# ---------------------------------------------------------------- the preview and the publish form


def upload(session: Session, actor: str, file: Any, *, crs: str, encoding: str) -> dict[str, Any]:
    """Stage the file and preview it (a Problem when it cannot be read: 413, 415, 422 ...)."""
    if crs and crs not in crs_labels():
        raise Problem(400, f"坐标系“{crs}”不在可选列表中", parameter="crs")
    return layers.upload(session, actor, file, crs=crs or None, encoding=encoding or None)


def staged_preview(session: Session, actor: str, upload_id: str, reading: dict[str, str]) -> dict[str, Any]:
    """The preview of a staged file, read with the CRS, encoding and sub-layer chosen ("" for the file's own)."""
    if reading["crs"] and reading["crs"] not in crs_labels():
        raise Problem(400, f"坐标系“{reading['crs']}”不在可选列表中", parameter="crs")
    answer = layers.staged_preview(
        session,
        actor,
        upload_id,
        crs=reading["crs"] or None,
        encoding=reading["encoding"] or None,
        layer_name=reading["layer_name"] or None,
    )
    session.rollback()
    return answer


def preview_view(answer: dict[str, Any], *, crs: str, encoding: str, layer_name: str) -> dict[str, Any]:
    """The preview page's context: the use case's answer, the choices and what the reading used."""
    preview = answer["preview"]
    return {
        "upload": answer,
        "preview": preview,
        "column_types": answer["column_types"],
        "crs_labels": crs_labels(),
        "crs_choices": [(c, crs_labels().get(c, c)) for c in answer["crs_choices"]],
        "geometries": GEOMETRIES,
        "geometry_labels": GEOMETRY_LABELS,
        "encodings": ENCODINGS,
        "reading": {"crs": crs, "encoding": encoding, "layer_name": layer_name},
        "extent": _extent(preview.get("extent_wgs84")),
    }


def _extent(bounds: list[float] | None) -> str:
    if not bounds:
        return ""
    x0, y0, x1, y1 = bounds
    return f"经度 {x0:.5f} – {x1:.5f}，纬度 {y0:.5f} – {y1:.5f}"


def typed_defaults(preview: dict[str, Any]) -> dict[str, Any]:
    """The publish form as the preview suggests it (every suggestion may be changed)."""
    return {
        "layer_id": preview["suggested_id"],
        "title_zh": "",
        "title_en": "",
        "description": "",
        "source": "",
        "licence": "",
        "protected": False,
        "gazetteer": bool(preview.get("name_field")),
        "geometry_type": preview["geometry"],
        "fields": [{"column": f["column"], "type": f["type"], "skip": False} for f in preview["fields"]],
        "key_field": preview.get("key_field") or "",
        "name_field": preview.get("name_field") or "",
        "subzone_field": preview.get("subzone_field") or "",
    }


TEXTS = ("layer_id", "title_zh", "title_en", "description", "source", "licence", "geometry_type")
CHOSEN = ("key_field", "name_field", "subzone_field")


def typed_from_form(preview: dict[str, Any], form: dict[str, str]) -> dict[str, Any]:
    """The publish form as it was sent; fields by their place in the preview (``column_3``, ``type_3``,
    ``skip_3``), since a file's field may be called anything."""
    typed: dict[str, Any] = {k: str(form.get(k, "")).strip() for k in TEXTS}
    typed |= {k: str(form.get(k, "")) for k in CHOSEN}
    typed["protected"] = bool(form.get("protected"))
    typed["gazetteer"] = bool(form.get("gazetteer"))
    typed["fields"] = [
        {
            "column": str(form.get(f"column_{n}", f["column"])).strip(),
            "type": str(form.get(f"type_{n}", f["type"])),
            "skip": bool(form.get(f"skip_{n}")),
        }
        for n, f in enumerate(preview["fields"])
    ]
    return typed


def _column_problem(name: str) -> str | None:
    if not name or len(name.encode("utf-8")) > MAX_COLUMN_BYTES:
        return f"列名“{name}”须为 1 到 63 字节（一个汉字占 3 字节）"
    if not COLUMN.match(name):
        return f"列名“{name}”只能含字母（可为汉字）、数字和下划线"
    return None


def publish_options(
    session: Session, preview: dict[str, Any], typed: dict[str, Any], reading: dict[str, str]
) -> dict[str, Any]:
    """The options of ``start_publish`` from the form, checked: a Problem (400 / 409) says what to change."""
    layer_id = typed["layer_id"]
    if not LAYER_ID.match(layer_id) or layer_id in PAGE_PATHS:
        raise Problem(
            400,
            f"图层编号“{layer_id}”不可用：须为 3–40 个小写字母（a–z）、数字或下划线，以字母开头（它是表名和 OGC "
            "集合编号；中文名称填在“中文名称”） / layer id: 3 to 40 of a-z 0-9 _, starting with a letter",
            parameter="layer_id",
        )
    if session.get(LayerEntry, layer_id) is not None:
        session.rollback()
        raise Problem(
            409,
            f"图层编号“{layer_id}”已被使用：换一个编号，或在该图层的管理页上传新版本 / layer {layer_id} exists",
            parameter="layer_id",
        )
    session.rollback()
    if not typed["title_zh"]:
        raise Problem(400, "请填写图层的中文名称 / title_zh is required", parameter="title_zh")
    if not (reading["crs"] or preview.get("crs")):
        raise Problem(
            400, "文件未注明坐标系：请先选择坐标系并重新预览 / choose the CRS the file is in", parameter="crs"
        )
    if typed["geometry_type"] not in dict(GEOMETRIES):
        raise Problem(400, f"几何类型“{typed['geometry_type']}”不可用", parameter="geometry_type")
    fields: dict[str, dict[str, Any]] = {}
    columns: set[str] = set()
    for f, chosen in zip(preview["fields"], typed["fields"], strict=True):
        if chosen["skip"]:
            fields[f["source"]] = {"column": f["column"], "type": f["type"], "skip": True}
            continue
        problem = _column_problem(chosen["column"])
        if problem:
            raise Problem(400, f"字段“{f['source']}”：{problem}", parameter="fields", field=f["source"])
        if chosen["column"].lower() in columns:
            raise Problem(400, f"列名“{chosen['column']}”用了两次", parameter="fields", field=f["source"])
        if chosen["type"] not in preview_types():
            raise Problem(400, f"字段“{f['source']}”的类型“{chosen['type']}”不可用", parameter="fields")
        columns.add(chosen["column"].lower())
        fields[f["source"]] = {"column": chosen["column"], "type": chosen["type"], "skip": False}
    sources = {f["source"] for f in preview["fields"]}
    for key in CHOSEN:
        if typed[key] and typed[key] not in sources:
            raise Problem(400, f"“{typed[key]}”不是文件中的字段", parameter=key)
    return {
        "layer_id": layer_id,
        "title_zh": typed["title_zh"],
        "title_en": typed["title_en"],
        "description": typed["description"],
        "source": typed["source"],
        "licence": typed["licence"],
        "protected": typed["protected"],
        "gazetteer": typed["gazetteer"],
        "crs": reading["crs"] or None,
        "encoding": reading["encoding"] or None,
        "layer_name": reading["layer_name"] or None,
        "geometry_type": typed["geometry_type"],
        "fields": fields,
        "key_field": typed["key_field"],
        "name_field": typed["name_field"],
        "subzone_field": typed["subzone_field"],
    }


def preview_types() -> tuple[str, ...]:
    return tuple(layers.TYPE_LABELS)


def start_publish(
    session: Session,
    actor: str,
    upload_id: str,
    preview: dict[str, Any],
    typed: dict[str, Any],
    reading: dict[str, str],
) -> dict[str, Any]:
    """Check the form, then start the background publish; the job's id to follow."""
    options = publish_options(session, preview, typed, reading)
    return layers.start_publish(session, actor, upload_id, options)


def start_change(session: Session, actor: str, layer_id: str, file: Any, mode: str, crs: str) -> dict[str, Any]:
    """A new edition of a published layer from a file: staged (read once to check it), then the job."""
    if mode not in dict(MODES):
        raise Problem(400, "请选择“替换全部”或“追加更新” / mode: replace or append", parameter="mode")
    if crs and crs not in crs_labels():
        raise Problem(400, f"坐标系“{crs}”不可用", parameter="crs")
    entry = _entry(session, layer_id)
    published, active = entry.origin == "published", entry.status == "active"
    session.rollback()
    if not published:
        raise Problem(409, f"图层 {layer_id} 随系统提供：新版本用 xiangmap layers load 导入", parameter="layer_id")
    if not active:
        raise Problem(409, f"图层 {layer_id} 已停用：请先恢复", parameter="layer_id")
    if file is None or not getattr(file, "filename", ""):
        raise Problem(400, "请选择要上传的文件 / choose a file", parameter="file")
    answer = layers.upload(session, actor, file, crs=crs or None)
    return layers.start_change(session, actor, layer_id, answer["upload_id"], {"mode": mode, "crs": crs or None})


# ---------------------------------------------------------------- jobs


def job_view(session: Session, job_id: str, actor: str) -> dict[str, Any]:
    """A job as the progress page shows it: percentage, phase in Chinese, result or the problem."""
    job = layers.job(session, job_id, actor)
    session.rollback()
    if job["state"] == "done":
        ogc.forget_collections()  # the layer is served at once: the collections cache of this process is stale
    result = job.get("result") or {}
    error = job.get("error") or {}
    where = []
    if error.get("row"):
        where.append(f"第 {error['row']} 行")
    if error.get("field"):
        where.append(f"字段 {error['field']}")
    return {
        "job": job,
        "action_label": ACTION_LABELS.get(job["action"], job["action"]),
        "state_label": STATE_LABELS.get(job["state"], job["state"]),
        "phase_label": PHASE_LABELS.get(job.get("phase") or "", "等待开始"),
        "finished": job["state"] in ("done", "failed"),
        "result": result,
        "error": error,
        "error_where": "，".join(where),
    }


# ---------------------------------------------------------------- status, protection, rules


def set_status(session: Session, actor: str, layer_id: str, *, retire: bool, note: str) -> dict[str, Any]:
    return layers.set_status(session, actor, layer_id, retire=retire, note=note.strip() or None)


def set_protected(session: Session, actor: str, layer_id: str, protected: bool) -> dict[str, Any]:
    return layers.set_protected(session, actor, layer_id, protected)


def store_rules(session: Session, actor: str, layer_id: str, content: bytes, note: str) -> dict[str, Any]:
    if not content.strip():
        raise Problem(400, "规则内容为空：请粘贴或上传规则文件（YAML） / the rules are empty", parameter="rules")
    return layers.store_rules(session, actor, layer_id, content, note.strip() or None)
