"""The layer catalogue: declarative ``layers/*.yaml`` files, synced into ``layer_catalogue``.

The files are the source of truth for what a layer is (titles, geometry type, licence, whether it
is a protected zone); the table lets SQL clients and the API see the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Engine
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from service.database import session_scope
from service.models import LAYER_MODELS, LayerEntry
from service.settings import PROJECT_ROOT, get_settings

REQUIRED = ("id", "title_zh", "title_en", "geometry_type")


@dataclass(frozen=True)
class LayerSpec:
    id: str
    title_zh: str
    title_en: str
    geometry_type: str
    description: str = ""
    source: str = ""
    licence: str = ""
    protected: bool = False
    data: str | None = None  # bundled file, relative to the project root
    properties: dict[str, Any] = field(default_factory=dict)

    @property
    def data_path(self) -> Path | None:
        return PROJECT_ROOT / self.data if self.data else None


def read_specs(layers_dir: Path | None = None) -> list[LayerSpec]:
    layers_dir = layers_dir or get_settings().layers_dir
    specs = []
    for path in sorted(layers_dir.glob("*.yaml")):
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        missing = [k for k in REQUIRED if not raw.get(k)]
        if missing:
            raise ValueError(f"{path.name}: missing {', '.join(missing)}")
        if raw["id"] != path.stem:
            raise ValueError(f"{path.name}: id {raw['id']!r} must match the file name")
        if raw["id"] not in LAYER_MODELS:
            raise ValueError(f"{path.name}: no table for layer {raw['id']!r}; add a model and a migration")
        known = set(LayerSpec.__dataclass_fields__)
        specs.append(LayerSpec(**{k: v for k, v in raw.items() if k in known}))
    return specs


def sync(engine: Engine) -> str:
    """Setup step (service.setup runs it with the engine): sync the catalogue in one session and commit."""
    with session_scope(engine) as session:
        return sync_catalogue(session)


def sync_catalogue(session: Session) -> str:
    """Upsert every spec into ``layer_catalogue`` in the caller's transaction (the caller commits);
    returns a one-line summary."""
    specs = read_specs()
    for s in specs:
        values = {
            "id": s.id,
            "title_zh": s.title_zh,
            "title_en": s.title_en,
            "geometry_type": s.geometry_type,
            "description": s.description,
            "source": s.source,
            "licence": s.licence,
            "protected": s.protected,
            "properties": s.properties,
        }
        stmt = insert(LayerEntry).values(**values)
        session.execute(
            stmt.on_conflict_do_update(index_elements=["id"], set_={k: v for k, v in values.items() if k != "id"})
        )
    return f"{len(specs)} layers in the catalogue"
