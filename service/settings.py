"""Runtime settings, read once from the environment (prefix ``XIANGMAP_``) and ``.env``.

``DATABASE_URL`` is also read without the prefix because that is what every PostGIS host,
container and PaaS sets.  When it is unset, the project-managed cluster under ``.data/`` is used.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Everything an operator may tune; safe defaults for an offline intranet."""

    model_config = SettingsConfigDict(env_prefix="XIANGMAP_", env_file=".env", extra="ignore")

    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "XIANGMAP_DATABASE_URL")
    )
    data_dir: Path = PROJECT_ROOT / ".data"
    db_port: int = 55432
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str | None = None
    db_connect_timeout_s: int = 3
    # sync endpoints run on this many threads per worker process; each may hold one pooled connection,
    # so the pool is kept larger and never opens and closes connections under load (decision 0084)
    worker_threads: int = 4
    db_pool_size: int | None = None  # default: worker_threads + 8
    db_statement_timeout_ms: int = 30_000
    # tiles and feature pages kept per worker, keyed by data version (service/response_cache.py); 0: off
    response_cache_mb: int = 64

    layers_dir: Path = PROJECT_ROOT / "layers"
    geodata_dir: Path = PROJECT_ROOT / "geodata"

    # limits (issue 8 tightens and tests them)
    max_upload_mb: int = 50
    max_body_mb: int = 10
    max_vertices: int = 200_000  # of one geometry entering: screened, drawn location, done part (decision 0093)
    # every geometry entering (service.domain.geometry_guard, decision 0093)
    max_geometry_parts: int = 10_000  # points, lines or polygons of one geometry
    max_geometry_rings: int = 10_000  # rings of all its polygons together
    max_geometry_depth: int = 4  # GeometryCollections nested in one another
    service_area: tuple[float, float, float, float] = (72.004, 0.8293, 137.8347, 55.8271)  # lon/lat box (China)
    # maps and tiles: stored rows with more vertices are drawn as their bounding box, never simplified
    map_simplify_vertices: int = 20_000
    page_limit_default: int = 100
    page_limit_max: int = 10_000
    cors_origins: list[str] = []
    private_reads: bool = False
    # uploaded archives and files (issue 8, service.domain.upload_safety)
    max_unzipped_mb: int = 200  # total uncompressed size of an uploaded zip
    max_zip_members: int = 100
    max_zip_ratio: int = 200  # uncompressed / compressed, per member over 1 MB
    max_file_vertices: int = 2_000_000  # all features of one uploaded layer file together

    # planners: a project is delayed when percent lags elapsed time by this many points
    delay_threshold_pct: float = 20.0
    tianditu_key: str | None = None
    secret_key: str | None = None  # signs shareable links; unset: a key generated once and kept in the database
    map_basemap: str = "osm"  # default basemap of the web maps: osm | tianditu-vec | tianditu-img | none
    # OGC API: numberMatched is counted exactly when the planner expects fewer rows than this
    ogc_exact_count_below: int = 50_000

    @property
    def pool_size(self) -> int:
        return self.db_pool_size or self.worker_threads + 8

    def resolved_database_url(self) -> str:
        """The URL to use: ``DATABASE_URL`` when given, else the managed cluster's."""
        if self.database_url:
            return normalise_url(self.database_url)
        from service.pgcluster import Cluster

        return Cluster.for_project(self.data_dir, self.db_port).url()


def normalise_url(url: str) -> str:
    """Accept the plain ``postgres://`` / ``postgresql://`` forms and pin the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@lru_cache
def get_settings() -> Settings:
    return Settings()
