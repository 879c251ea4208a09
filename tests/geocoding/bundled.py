"""Load the bundled layer files (geodata/layers/*.geojson) into a private database for the gold set.

The gold set must not depend on which setup step ran before it, so it reads the committed layer
files itself; the setup-loaded database is checked separately (test_setup_geocoding.py).
"""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import Connection, text

from service.models.layers import LAYER_MODELS

LAYERS_DIR = Path(__file__).resolve().parents[2] / "geodata" / "layers"


def bundled_layers_present() -> bool:
    return all((LAYERS_DIR / f"{table}.geojson").exists() for table in LAYER_MODELS)


def load_bundled_layer_files(conn: Connection) -> None:
    for table, model in LAYER_MODELS.items():
        columns = model.__table__.columns
        multi = str(columns["geom"].type.geometry_type).startswith("MULTI")
        geom = "ST_SetSRID(ST_GeomFromGeoJSON(:geometry), 4326)"
        geom = f"ST_Multi({geom})" if multi else geom
        for feature in json.loads((LAYERS_DIR / f"{table}.geojson").read_text(encoding="utf-8"))["features"]:
            props = {
                k: v
                for k, v in feature["properties"].items()
                if k in columns and k not in ("id", "geom", "updated_at") and v is not None
            }
            props.setdefault("source", "bundled")
            names = list(props)
            conn.execute(
                text(
                    f"INSERT INTO {table} ({', '.join(names)}, geom) "
                    f"VALUES ({', '.join(':' + n for n in names)}, {geom})"
                ),
                {**props, "geometry": json.dumps(feature["geometry"])},
            )
