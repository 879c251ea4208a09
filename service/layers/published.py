"""Published layers in the database: their table, catalogue entry, versions and archives (no HTTP, no commit).

A published layer is one table made by ``xm_layer_create`` (migration 0025), one ``layer_catalogue`` row
(``origin = 'published'``) and a ``layer_versions`` row per change.  Before a replace or an append changes the
table, the features and, for a protected layer, the zone parts screening tested, are copied to the archives
under the version they belonged to: that is what lets a screening made against version 3 replay against
version 3 later (service.screening.replay).  Retiring keeps the table but stops serving and screening it.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from service.errors import Problem
from service.layers.bulk import LoadSpec
from service.layers.inspection import GEOMETRY_NAMES
from service.models import LayerEntry, LayerVersion


def entry(session: Session, layer_id: str, *, lock: bool = False) -> LayerEntry | None:
    query = select(LayerEntry).where(LayerEntry.id == layer_id)
    if lock:
        query = query.with_for_update()
    return session.scalars(query).first()


def published_entry(session: Session, layer_id: str, *, lock: bool = False) -> LayerEntry:
    """The catalogue row of a published layer, or 404 / 409 saying why not."""
    found = entry(session, layer_id, lock=lock)
    if found is None:
        raise Problem(404, f"no layer {layer_id!r}; GET /layers lists them", parameter="layer_id")
    if found.origin != "published":
        raise Problem(
            409,
            f"layer {layer_id} is bundled with xiangmap (layers/{layer_id}.yaml): load files into it with "
            f"POST /layers/{layer_id}/uploads; only published layers are replaced, appended or retired here",
            parameter="layer_id",
            fault="bundled_layer",
        )
    return found


def create_table(session: Session, layer_id: str, spec: LoadSpec) -> None:
    columns = [{"name": f.column, "type": f.type} for f in spec.fields]
    if spec.subzone_field:
        columns.insert(0, {"name": "subzone", "type": "text"})
    session.execute(
        text("SELECT xm_layer_create(:id, :geom, CAST(:cols AS jsonb))"),
        {"id": layer_id, "geom": spec.geometry_type, "cols": json.dumps(columns)},
    )


def build_indexes(session: Session, layer_id: str) -> None:
    session.execute(text("SELECT xm_layer_index(:id)"), {"id": layer_id})


def spec_properties(spec: LoadSpec, extra: dict[str, Any]) -> dict[str, Any]:
    """What a later replace needs to read the next edition the same way, kept in the catalogue entry."""
    return {
        "key_field": spec.key_field,
        "name_field": spec.name_field,
        "subzone_field": spec.subzone_field,
        "geometry_type_sql": spec.geometry_type,
        **extra,
    }


def add_entry(
    session: Session,
    layer_id: str,
    spec: LoadSpec,
    *,
    title_zh: str,
    title_en: str,
    description: str,
    source: str,
    licence: str,
    protected: bool,
    gazetteer: bool,
    actor: str,
    properties: dict[str, Any],
) -> None:
    """The catalogue row; inserting it protected makes the trigger of migration 0006 cut the zone parts."""
    session.execute(
        insert(LayerEntry).values(
            id=layer_id,
            title_zh=title_zh,
            title_en=title_en,
            geometry_type=GEOMETRY_NAMES[spec.geometry_type],
            description=description,
            source=source,
            licence=licence,
            protected=protected,
            properties=spec_properties(spec, properties),
            origin="published",
            status="active",
            version=1,
            fields=[f.as_dict() for f in spec.fields],
            gazetteer=gazetteer,
            published_by=actor,
        )
    )


def feature_count(session: Session, layer_id: str) -> int:
    return int(session.execute(text(f'SELECT count(*) FROM "{layer_id}"')).scalar_one())


def archive_version(session: Session, layer_id: str, version: int) -> None:
    """Copy the layer's features and live zone parts into the archives under ``version`` (once per version)."""
    params = {"layer": layer_id, "version": version}
    session.execute(
        text(
            f"""INSERT INTO layer_feature_archive (layer, version, feature_id, key, properties, geom)
                SELECT :layer, :version, t.id, t.key, to_jsonb(t) - 'geom' - 'id' - 'key', t.geom FROM "{layer_id}" t
                WHERE NOT EXISTS (
                    SELECT 1 FROM layer_feature_archive a WHERE a.layer = :layer AND a.version = :version)"""
        ),
        params,
    )
    session.execute(
        text(
            """INSERT INTO screening_zone_parts_archive
                   (id, layer, zone_id, zone_key, zone_name, scheme, subzone, valid_from, valid_to, zone_hash, geom,
                    layer_version)
               SELECT id, layer, zone_id, zone_key, zone_name, scheme, subzone, valid_from, valid_to, zone_hash, geom,
                      :version
               FROM screening_zone_parts WHERE layer = :layer
                 AND NOT EXISTS (SELECT 1 FROM screening_zone_parts_archive a
                                 WHERE a.layer = :layer AND a.layer_version = :version)"""
        ),
        params,
    )


def refresh_zones(session: Session, layer_id: str) -> int:
    """Re-cut the live zone parts of the layer (none unless it is protected and active); returns how many."""
    return int(session.execute(text("SELECT screening_refresh_zone(:id, NULL)"), {"id": layer_id}).scalar_one())


def record_version(session: Session, layer_id: str, version: int, action: str, actor: str, **values: Any) -> int:
    return int(
        session.execute(
            insert(LayerVersion)
            .values(layer=layer_id, version=version, action=action, actor=actor, **values)
            .returning(LayerVersion.id)
        ).scalar_one()
    )


VERSION_COLUMNS = (
    "id",
    "layer",
    "version",
    "action",
    "actor",
    "at",
    "file_name",
    "file_sha256",
    "features",
    "added",
    "source_crs",
    "encoding",
    "repairs",
    "details",
)


def versions(session: Session, layer_id: str) -> list[dict[str, Any]]:
    rows = session.execute(
        select(LayerVersion).where(LayerVersion.layer == layer_id).order_by(LayerVersion.id.desc())
    ).scalars()
    return [{c: getattr(r, c) for c in VERSION_COLUMNS} for r in rows]


def archived_versions(session: Session, layer_id: str) -> list[int]:
    return list(
        session.execute(
            text("SELECT DISTINCT version FROM layer_feature_archive WHERE layer = :l ORDER BY version"),
            {"l": layer_id},
        ).scalars()
    )
