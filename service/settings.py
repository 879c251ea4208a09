"""Runtime settings, read once from the environment (prefix ``XIANGMAP_``) and ``.env``.

``DATABASE_URL`` is also read without the prefix because that is what every PostGIS host,
container and PaaS sets.  When it is unset, the project-managed cluster under ``.data/`` is used.

Two database roles (docs/decisions/0091-owner-and-app-roles.md): ``DATABASE_URL`` is the owner's, for
migrations and ``xiangmap setup``; ``XIANGMAP_APP_DATABASE_URL`` is the application role's, which the
running service uses (falling back to ``DATABASE_URL``, with a loud warning when that is a superuser).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated
from urllib.parse import unquote, urlsplit

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Everything an operator may tune; safe defaults for an offline intranet."""

    model_config = SettingsConfigDict(env_prefix="XIANGMAP_", env_file=".env", extra="ignore")

    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "XIANGMAP_DATABASE_URL")
    )
    # the running service's role: owns nothing, DML only (service/db_roles.py); unset: the managed
    # cluster's application role, or DATABASE_URL when that is set
    app_database_url: str | None = None
    app_role: str = "xiangmap_app"  # its name when the URL does not say (managed cluster, migration 0010)
    serve_user: str = "xiangmap"  # the system account `xiangmap serve` switches to when started as root
    data_dir: Path = PROJECT_ROOT / ".data"
    db_port: int = 55432
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str | None = None
    # reverse proxies whose X-Forwarded-* headers `xiangmap serve` trusts (None: uvicorn's FORWARDED_ALLOW_IPS or
    # loopback); a setting, so that `.env` works as well as the environment (docs/deploy/README.md)
    forwarded_allow_ips: str | None = None
    db_connect_timeout_s: int = 3
    # sync endpoints run on this many threads per worker process; each may hold one pooled connection,
    # so the pool is kept larger and never opens and closes connections under load (decision 0084)
    worker_threads: int = 4
    db_pool_size: int | None = None  # default: worker_threads + 8
    db_statement_timeout_ms: int = 30_000
    # hot standbys for reads that may be slightly stale (issue 21, service/read_routing.py): the application
    # role's URLs, comma-separated; a standby further behind than replica_max_lag_s is not used until it catches up
    replica_urls: Annotated[list[str], NoDecode] = []
    replica_max_lag_s: float = 5.0
    replica_check_s: float = 0.5
    # tiles and feature pages kept per worker, keyed by data version (service/response_cache.py); 0: off
    response_cache_mb: int = 64

    layers_dir: Path = PROJECT_ROOT / "layers"
    geodata_dir: Path = PROJECT_ROOT / "geodata"

    # limits (issue 8 tightens and tests them)
    max_upload_mb: int = 50
    # a layer GIS staff publish (issue 20): authoritative parcels run to hundreds of MB; kept in staged_uploads
    max_layer_upload_mb: int = 500
    max_body_mb: int = 10
    max_vertices: int = 200_000  # of one geometry entering: screened, drawn location, done part (decision 0093)
    # every geometry entering (service.common.geometry_guard, decision 0093)
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
    # uploaded archives and files (issue 8, service.common.upload_safety)
    max_unzipped_mb: int = 200  # total uncompressed size of an uploaded zip
    max_zip_members: int = 100
    max_zip_ratio: int = 200  # uncompressed / compressed, per member over 1 MB
    max_file_vertices: int = 2_000_000  # all features of one uploaded layer file together
    max_geometry_vertices: int = 100_000  # one geometry of an uploaded file: GDAL builds it whole (decision 0090)
    # evidence (佐证材料) sent with a monthly report (service/tasks/evidence.py, decision 0191)
    max_evidence_mb: int = 10  # one photo or PDF
    max_evidence_files: int = 10  # files of one report
    max_case_file_mb: int = 20  # one photo or PDF of a case or of one of its steps (issue 16)
    max_case_files: int = 10  # files sent with one registration or step
    # resource limits (decision 0094): texts, filters, batches, and requests per client per group
    geocode_max_chars: int = 4_000  # POST /geocode text; the register's longest task text is 447
    filter_max_chars: int = 10_000  # a CQL2 filter (text or JSON)
    filter_max_nodes: int = 1_000  # conditions, properties and values of a parsed filter
    filter_max_depth: int = 30  # nesting of a parsed filter (a chain of one AND / OR is one level)
    screening_batch_max_ids: int = 5_000  # project_ids of one POST /screening/batch
    rate_limits_enabled: bool = True
    # where the counts live (decision 0320): "database" (shared by every worker and machine) or "memory" (this
    # worker process only: a single-process development server)
    rate_limit_store: str = "database"
    rate_limit_geocode: str = "60/minute"  # `limits` notation; per client address, x token factor per token
    rate_limit_screening: str = "30/minute"  # POST /screening, /screening/batch, POST /projects/{id}/screening
    rate_limit_downloads: str = "30/minute"  # /collections/{id}/download.{fmt}
    rate_limit_download_reads: str = "600/minute"  # their HEAD and Range requests (GDAL /vsicurl/ opens by ranges)
    rate_limit_print: str = "6/minute"  # /maps/progress.{png,pdf} (headless Chromium)
    # failed browser sign-ins (POST /login), per client address and per user name; successes are not counted
    rate_limit_signin: str = "10/minute"
    rate_limit_token_factor: int = 10  # a token holder may send this many times the anonymous allowance
    rate_limit_tarpit_s: float = 2.0  # an anonymous refusal is held this long (at most Retry-After); 0: at once
    rate_limit_tarpit_max: int = 256  # refusals held at once per worker; beyond that they go out at once
    download_cache_dir: Path | None = None  # files written for downloads; default: <system temp>/xiangmap-downloads

    # browser sessions (service/sessions.py, decision 0161): signed out after this long without a request,
    # and after this long in any case; a password is at least this long
    session_idle_minutes: int = 120
    session_max_hours: int = 12
    password_min_length: int = 10

    # planners: a started task is 已开工进展缓慢 when its percent lags its due milestones by more than this
    delay_threshold_pct: float = 0.0
    tianditu_key: str | None = None
    secret_key: str | None = None  # signs shareable links; unset: a key generated once and kept in the database
    map_basemap: str = "osm"  # default basemap of the web maps: osm | tianditu-vec | tianditu-img | none
    # OGC API: numberMatched is counted exactly when the planner expects fewer rows than this
    ogc_exact_count_below: int = 50_000

    @field_validator("replica_urls", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        """``XIANGMAP_REPLICA_URLS=url1,url2`` (what an operator types), or a list."""
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @property
    def pool_size(self) -> int:
        return self.db_pool_size or self.worker_threads + 8

    def resolved_database_url(self) -> str:
        """The URL to use: ``DATABASE_URL`` when given, else the managed cluster's."""
        if self.database_url:
            return normalise_url(self.database_url)
        from service.pgcluster import Cluster

        return Cluster.for_project(self.data_dir, self.db_port, self.app_role).url()

    def resolved_app_database_url(self) -> str:
        """The running service's URL: the app role's when configured or managed, else ``DATABASE_URL``."""
        if self.app_database_url:
            return normalise_url(self.app_database_url)
        if self.database_url:
            return normalise_url(self.database_url)
        from service.pgcluster import Cluster

        cluster = Cluster.for_project(self.data_dir, self.db_port, self.app_role)
        return cluster.app_url() or cluster.url()

    def app_role_name(self) -> str:
        """The application role migrations grant to: the user of the app URL when set, else ``app_role``."""
        if self.app_database_url:
            user = urlsplit(normalise_url(self.app_database_url)).username
            if user:
                return unquote(user)
        return self.app_role


def normalise_url(url: str) -> str:
    """Accept the plain ``postgres://`` / ``postgresql://`` forms and pin the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@lru_cache
def get_settings() -> Settings:
    # an unreadable .env (mode 600, another account's) is skipped: `xiangmap serve` exports it first
    env_file = ".env" if not os.path.exists(".env") or os.access(".env", os.R_OK) else None
    return Settings(_env_file=env_file)
