"""A project-managed PostgreSQL cluster: the dev database under ``.data/`` and throwaway test clusters.

PostgreSQL refuses to run as root, so when we are root every server command runs as the
unprivileged ``postgres`` account, and the data directory is placed where that account can reach
it (a clone inside a root-only home gets its cluster under ``/var/lib/xiangmap`` instead, with the
location recorded in ``.data/cluster.json``).

Two roles in every cluster (docs/decisions/0091-owner-and-app-roles.md): the bootstrap superuser
``xiangmap``, which administers the cluster and owns the schema (migrations, ``xiangmap setup``), and
the application role ``xiangmap_app`` (LOGIN, no superuser, owns nothing) the running service uses,
with its own generated password.  Both passwords live in ``.data/cluster.json``, mode 600.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg

SUPERUSER = "xiangmap"
APP_ROLE = "xiangmap_app"
DATABASE = "xiangmap"
SERVER_ACCOUNT = "postgres"
POSTGIS_CONTROL = "postgis.control"


class ClusterError(RuntimeError):
    """The cluster could not be prepared; the message says what to do."""


def is_root() -> bool:
    return os.geteuid() == 0


def pg_bindir() -> Path:
    """Newest PostgreSQL server binaries: Debian's versioned dirs first, then ``pg_config``, then PATH."""
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if candidates:
        return candidates[-1].parent
    if shutil.which("pg_config"):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=False)
        if out.returncode == 0 and (Path(out.stdout.strip()) / "initdb").exists():
            return Path(out.stdout.strip())
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    raise ClusterError(
        "PostgreSQL server binaries not found: install Debian's postgresql-15-postgis-3 "
        "(apt-get install postgresql-15-postgis-3) or set DATABASE_URL."
    )


def postgis_available(bindir: Path | None = None) -> bool:
    bindir = bindir or pg_bindir()
    version = bindir.parent.name
    return any(Path(p).exists() for p in (f"/usr/share/postgresql/{version}/extension/{POSTGIS_CONTROL}",)) or bool(
        list(Path("/usr/share/postgresql").glob(f"*/extension/{POSTGIS_CONTROL}"))
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_in_use(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _server_account_can_reach(path: Path) -> bool:
    """True when the ``postgres`` account can traverse every directory down to ``path``."""
    if not is_root():
        return True
    probe = subprocess.run(
        ["runuser", "-u", SERVER_ACCOUNT, "--", "test", "-x", str(path)], capture_output=True, check=False
    )
    return probe.returncode == 0


@dataclass
class Cluster:
    """One PostgreSQL cluster: where its data lives and how clients reach it."""

    pgdata: Path
    port: int
    socket_dir: Path | None = None  # unix-socket only (tests) when set
    password: str | None = None  # scram password over TCP (dev cluster)
    app_password: str | None = None  # the application role's (dev cluster)
    app_role: str = APP_ROLE
    throwaway: bool = False
    # hot standbys of this cluster (service/replicas.py): the replication role's password, and one
    # {name, port, pgdata, slot} per standby
    replication_password: str | None = field(default=None, repr=False)
    replicas: list[dict[str, Any]] = field(default_factory=list)
    config_file: Path | None = field(default=None, repr=False)

    # ---- construction -------------------------------------------------------------------------
    @classmethod
    def for_project(cls, data_dir: Path, default_port: int, app_role: str = APP_ROLE) -> Cluster:
        """The dev cluster of this checkout, as recorded in ``.data/cluster.json`` (or a fresh plan)."""
        config = data_dir / "cluster.json"
        if config.exists():
            raw = json.loads(config.read_text())
            return cls(
                pgdata=Path(raw["pgdata"]),
                port=int(raw["port"]),
                password=raw.get("password"),
                app_password=raw.get("app_password"),
                app_role=app_role,
                replication_password=raw.get("replication_password"),
                replicas=list(raw.get("replicas", [])),  # absent in a cluster.json older than the replicas
                config_file=config,
            )
        pgdata = data_dir / "pg"
        return cls(
            pgdata=pgdata,
            port=default_port,
            password=secrets.token_urlsafe(18),
            app_password=secrets.token_urlsafe(18),
            app_role=app_role,
            config_file=config,
        )

    @classmethod
    def throwaway_cluster(cls) -> Cluster:
        """A socket-only, fsync-off cluster in a fresh temp dir, for one test run."""
        root = Path(tempfile.mkdtemp(prefix="xm-"))  # short: unix socket paths are limited to 107 bytes
        root.chmod(0o755)
        return cls(pgdata=root / "pg", port=5432, socket_dir=root, throwaway=True)

    # ---- addresses ------------------------------------------------------------------------------
    def url(self, database: str = DATABASE, user: str = SUPERUSER, password: str | None = None) -> str:
        """The superuser's URL (cluster administration, migrations), or ``user``'s with ``password``."""
        if self.socket_dir is not None:
            return f"postgresql+psycopg://{user}@/{database}?host={quote(str(self.socket_dir))}&port={self.port}"
        secret = self.password if user == SUPERUSER else password
        auth = f"{user}:{quote(secret or '', safe='')}"
        return f"postgresql+psycopg://{auth}@127.0.0.1:{self.port}/{database}"

    def app_url(self, database: str = DATABASE) -> str | None:
        """The application role's URL; None for a dev cluster made before it had one (run ``db cluster start``)."""
        if self.socket_dir is None and not self.app_password:
            return None
        return self.url(database, user=self.app_role, password=self.app_password)

    def libpq_url(self, database: str = DATABASE) -> str:
        return self.url(database).replace("postgresql+psycopg://", "postgresql://", 1)

    # ---- commands -------------------------------------------------------------------------------
    def _run(
        self, *args: str, check: bool = True, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """A server binary, as the server account; ``env`` is added to ours (a password kept off the command line)."""
        cmd = [str(pg_bindir() / args[0]), *args[1:]]
        if is_root():
            cmd = ["runuser", "-u", SERVER_ACCOUNT, "--", *cmd]
        full_env = {**os.environ, **env} if env else None
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=full_env)
        if check and proc.returncode != 0:
            raise ClusterError(f"{' '.join(args[:2])} failed: {proc.stderr.strip() or proc.stdout.strip()}")
        return proc

    def _place_data_dir(self) -> None:
        """Make sure the server account can reach ``pgdata``; otherwise move it under /var/lib/xiangmap."""
        parent = self.pgdata.parent
        parent.mkdir(parents=True, exist_ok=True)
        if not self.throwaway:
            # .data holds cluster.json (the passwords): nobody lists it; as root the postgres account
            # only traverses it to reach pg/ (mode 700, its own)
            parent.chmod(0o711 if is_root() else 0o700)
        if is_root() and not self.throwaway and not _server_account_can_reach(parent):
            digest = hashlib.sha1(str(parent.resolve()).encode()).hexdigest()[:12]
            self.pgdata = Path("/var/lib/xiangmap") / digest / "pg"
            self.pgdata.parent.mkdir(parents=True, exist_ok=True)
            self.pgdata.parent.chmod(0o711)

    def _chown_to_server(self, path: Path) -> None:
        if is_root():
            account = pwd.getpwnam(SERVER_ACCOUNT)
            os.chown(path, account.pw_uid, account.pw_gid)

    def initialised(self) -> bool:
        return (
            (self.pgdata / "PG_VERSION").exists()
            if not is_root()
            else self._run("pg_controldata", str(self.pgdata), check=False).returncode == 0
        )

    def init(self) -> None:
        if not postgis_available():
            raise ClusterError(
                "PostGIS is not installed: apt-get install postgresql-15-postgis-3 (as root), or set DATABASE_URL."
            )
        self._place_data_dir()
        self.pgdata.mkdir(parents=True, exist_ok=True)
        self.pgdata.chmod(0o700)
        self._chown_to_server(self.pgdata)
        if self.socket_dir is not None:
            self._chown_to_server(self.socket_dir)
        args = [
            "initdb",
            "-D",
            str(self.pgdata),
            "-U",
            SUPERUSER,
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        ]
        pwfile: Path | None = None
        if self.password:
            fd, name = tempfile.mkstemp(prefix="xm-pw-")
            pwfile = Path(name)
            with os.fdopen(fd, "w") as fh:
                fh.write(self.password)
            self._chown_to_server(pwfile)
            args += [f"--pwfile={pwfile}", "--auth-host=scram-sha-256", "--auth-local=peer"]
        else:
            args += ["--auth=trust"]
        try:
            self._run(*args)
        finally:
            if pwfile:
                pwfile.unlink(missing_ok=True)
        self._write_conf()
        self._save()

    def _write_conf(self) -> None:
        lines = [f"port = {self.port}", "max_connections = 100", "shared_buffers = 256MB"]
        if self.socket_dir is not None:
            lines += ["listen_addresses = ''", f"unix_socket_directories = '{self.socket_dir}'"]
        else:
            lines += ["listen_addresses = '127.0.0.1'", "unix_socket_directories = ''"]
        if self.throwaway:
            lines += ["fsync = off", "synchronous_commit = off", "full_page_writes = off"]
        self.write_conf_include("conf.d-xiangmap.conf", lines)

    def write_conf_include(self, filename: str, lines: list[str], writer: str = "service/pgcluster.py") -> None:
        """Write ``filename`` in the data directory and include it from ``postgresql.conf`` (once).

        Our settings live in files of their own, so ``postgresql.conf`` stays initdb's and each
        writer (this module; service/replicas.py) rewrites only its own file.
        """
        self.write_server_file(self.pgdata / filename, "\n".join([f"# written by xiangmap ({writer})", *lines]) + "\n")
        main = self.pgdata / "postgresql.conf"
        text = self.read_server_file(main)
        if f"'{filename}'" not in text:
            self.write_server_file(main, text + f"include_if_exists = '{filename}'\n")

    def read_server_file(self, source: Path) -> str:
        """Read a file of the data directory (as the server account when root, as before: its dir is 700)."""
        if is_root():
            cmd = ["runuser", "-u", SERVER_ACCOUNT, "--", "cat", str(source)]
            return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        return source.read_text()

    def write_server_file(self, target: Path, text: str) -> None:
        """Write a file of the data directory, owned by the server account as the server expects."""
        if is_root():
            subprocess.run(
                ["runuser", "-u", SERVER_ACCOUNT, "--", "sh", "-c", f"cat > '{target}'"],
                input=text,
                text=True,
                check=True,
            )
        else:
            target.write_text(text)

    def _save(self) -> None:
        if self.config_file is None:
            return
        self.config_file.parent.mkdir(parents=True, exist_ok=True)
        skip = {"config_file", "app_role"}
        data = {k: str(v) if isinstance(v, Path) else v for k, v in asdict(self).items() if k not in skip}
        # created 600 (never readable by others, not even for a moment), then renamed over the old one
        tmp = self.config_file.with_name(f".{self.config_file.name}.{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            os.fchmod(fh.fileno(), 0o600)
            fh.write(json.dumps(data, indent=2))
        os.replace(tmp, self.config_file)

    def running(self) -> bool:
        return self._run("pg_ctl", "status", "-D", str(self.pgdata), check=False).returncode == 0

    def start(self) -> None:
        if self.running():
            return
        if self.socket_dir is None and port_in_use(self.port):
            self.port = free_port()  # another cluster holds our port: move, and remember the move
            self._write_conf()
            self._save()
        log = self.pgdata / "server.log"
        self._run("pg_ctl", "start", "-D", str(self.pgdata), "-l", str(log), "-w", "-t", "60")

    def stop(self) -> None:
        if self.running():
            self._run("pg_ctl", "stop", "-D", str(self.pgdata), "-m", "fast", "-w", "-t", "60")

    def create_database(self, name: str = DATABASE) -> None:
        with psycopg.connect(self.libpq_url("postgres"), autocommit=True, connect_timeout=10) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{name}"')

    def ensure_app_role(self) -> None:
        """Create the application role (or reset its attributes and password); the grants are migration 0010's."""
        from service import db_roles

        if self.socket_dir is None and not self.app_password:  # a dev cluster made before the role existed
            self.app_password = secrets.token_urlsafe(18)
            self._save()
        password = None if self.socket_dir is not None else self.app_password
        with psycopg.connect(self.libpq_url("postgres"), autocommit=True, connect_timeout=10) as conn:
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (self.app_role,)).fetchone()
            make = db_roles.alter_role_statement if exists else db_roles.create_role_statement
            conn.execute(make(self.app_role, password))  # type: ignore[arg-type]

    def protect_secrets(self) -> None:
        """``cluster.json`` 600 and its folder unlistable, also for a checkout made before they were."""
        if self.config_file is None or not self.config_file.exists():
            return
        self.config_file.chmod(0o600)
        self.config_file.parent.chmod(0o711 if is_root() else 0o700)

    def drop_database(self, name: str) -> None:
        with psycopg.connect(self.libpq_url("postgres"), autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def ensure(self) -> Cluster:
        """Initialise (first time), start (if stopped) and create the database; idempotent."""
        if not self.initialised():
            self.init()
        self.start()
        deadline = time.monotonic() + 30
        while True:
            try:
                self.create_database()
                self.ensure_app_role()
                self.protect_secrets()
                return self
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)

    def destroy(self) -> None:
        with contextlib.suppress(ClusterError):
            self.stop()
        root = self.socket_dir if self.throwaway and self.socket_dir else self.pgdata
        shutil.rmtree(root, ignore_errors=True)
