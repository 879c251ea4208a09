"""Load the bundled layer files (geodata/layers/<id>.geojson) into their tables: a setup step.

Idempotent and fast on a second run: a layer is skipped when its file's SHA-256 equals the one of
its last bundled load and the table still holds those features.  A changed file is upserted
(features it dropped since the previous bundled load are removed), but a feature that a person
marked ``verified`` (an authoritative replacement) is never overwritten by bundled data.
"""

from __future__ import annotations

from sqlalchemy import Engine, text

from service.database import session_scope
from service.layers.catalogue import read_specs
from service.layers.history import last_bundled
from service.layers.loader import file_sha256, load_layer_file

ACTOR = "setup"


def load_bundled_layers(engine: Engine, force: bool = False) -> str:
    """Load every layer whose catalogue entry names a bundled file; returns a one-line summary."""
    loaded, skipped, features = [], [], 0
    for spec in read_specs():
        path = spec.data_path
        if path is None or not path.exists():
            continue
        digest = file_sha256(path)
        with session_scope(engine) as session:  # one transaction per layer, committed when it is loaded
            previous = last_bundled(session, spec.id)
            present = session.execute(
                text(f"SELECT count(*) FROM {spec.id} WHERE key = ANY(:keys)"),
                {"keys": previous["keys"] if previous else []},
            ).scalar_one()
            if not force and previous and previous["file_sha256"] == digest and present == len(previous["keys"]):
                skipped.append(spec.id)
                features += present
                continue
            report = load_layer_file(
                session,
                spec.id,
                path,
                actor=ACTOR,
                kind="bundled",
                display_name=str(path.relative_to(path.parents[2])),
                previous_keys=set(previous["keys"]) if previous else None,
                sha256=digest,
            )
            loaded.append(spec.id)
            features += report.rows
    total = len(loaded) + len(skipped)
    return f"{features} features in {total} layers ({len(loaded)} loaded, {len(skipped)} unchanged)"
