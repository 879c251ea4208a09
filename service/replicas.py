"""Hot standbys of the project-managed cluster: streaming replicas on this machine (issue 21, docs/scaling.md).

Reads can be spread over copies of the database that follow the primary.  A standby here is what an
operator would build by hand, so the managed cluster exercises the same path as production: a
physical replication slot on the primary (it keeps the WAL a stopped standby still needs, so the
standby rejoins when started again), ``pg_basebackup -R -X stream -S <slot>`` into a data directory of
its own next to the primary's, and that copy started on its own port with ``hot_standby``.

The standbys are recorded in the primary's ``cluster.json`` under ``replicas``, with the replication
role's password (``replication_password``); a throwaway cluster keeps them on the object only.  Each
standby is driven as a :class:`Cluster` of its own (same sockets, passwords and server account), so
starting, stopping and running as ``postgres`` when root work exactly as for the primary.
"""

from __future__ import annotations

import re
import secrets
import shutil
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from service.pgcluster import Cluster, ClusterError, free_port, is_root, port_in_use

REPLICATION_ROLE = "xiangmap_replicator"
CONF_FILE = "conf.d-xiangmap-replication.conf"
HBA_MARK = "# xiangmap replication (service/replicas.py)"
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,30}$")  # it becomes part of the slot's name: [a-z0-9_] only
_WRITER = "service/replicas.py"

# the PostgreSQL 15 defaults, written down so a standby (which needs at least the primary's) gets the same;
# a slot of a standby left stopped keeps WAL, up to this much (then the slot is lost: add the standby anew)
PRIMARY_SETTINGS = {
    "wal_level": "replica",
    "max_wal_senders": "10",
    "max_replication_slots": "10",
    "max_slot_wal_keep_size": "8GB",
}
_NEED_RESTART = ("wal_level", "max_wal_senders", "max_replication_slots")  # postmaster-context settings


@dataclass(frozen=True)
class Replica:
    """One hot standby as recorded in the primary's ``cluster.json``."""

    name: str
    pgdata: Path
    port: int
    slot: str

    @classmethod
    def from_record(cls, raw: dict[str, Any]) -> Replica:
        return cls(name=raw["name"], pgdata=Path(raw["pgdata"]), port=int(raw["port"]), slot=raw["slot"])

    def record(self) -> dict[str, Any]:
        return {"name": self.name, "port": self.port, "pgdata": str(self.pgdata), "slot": self.slot}


def replicas(primary: Cluster) -> list[Replica]:
    return [Replica.from_record(raw) for raw in primary.replicas]


def get_replica(primary: Cluster, name: str) -> Replica:
    for replica in replicas(primary):
        if replica.name == name:
            return replica
    known = ", ".join(r.name for r in replicas(primary)) or "none"
    raise ClusterError(f"no replica called {name!r} (replicas: {known})")


def standby_server(primary: Cluster, replica: Replica) -> Cluster:
    """The standby as a cluster of its own: the primary's sockets and passwords (roles replicate), its port."""
    return Cluster(
        pgdata=replica.pgdata,
        port=replica.port,
        socket_dir=primary.socket_dir,
        password=primary.password,
        app_password=primary.app_password,
        app_role=primary.app_role,
        throwaway=primary.throwaway,
    )


# ---- the primary's side ---------------------------------------------------------------------------
def _connect(cluster: Cluster) -> psycopg.Connection[Any]:
    return psycopg.connect(cluster.libpq_url("postgres"), autocommit=True, connect_timeout=5)


def _allow_replication(primary: Cluster) -> None:
    """Settings, role and pg_hba line for the standbys' connections; reload (restart only if a setting needs it)."""
    if primary.socket_dir is None and not primary.replication_password:
        primary.replication_password = secrets.token_urlsafe(18)
        primary._save()
    primary.write_conf_include(CONF_FILE, [f"{k} = '{v}'" for k, v in PRIMARY_SETTINGS.items()], _WRITER)
    hba = primary.pgdata / "pg_hba.conf"
    text = primary.read_server_file(hba)
    if HBA_MARK not in text:  # first, so it is the line that matches (pg_hba.conf is first-match)
        if primary.socket_dir is not None:  # socket-only throwaway clusters trust every local connection
            rule = f"local   replication   {REPLICATION_ROLE}                  trust"
        else:
            rule = f"host    replication   {REPLICATION_ROLE}   127.0.0.1/32   scram-sha-256"
        primary.write_server_file(hba, f"{HBA_MARK}: the standbys' pg_basebackup and walreceiver\n{rule}\n{text}")
    password = primary.replication_password if primary.socket_dir is None else None
    with _connect(primary) as conn:
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (REPLICATION_ROLE,)).fetchone()
        verb = sql.SQL("ALTER ROLE" if exists else "CREATE ROLE")
        statement = sql.SQL("{} {} WITH LOGIN REPLICATION NOSUPERUSER").format(verb, sql.Identifier(REPLICATION_ROLE))
        if password:
            statement = sql.SQL("{} PASSWORD {}").format(statement, sql.Literal(password))
        conn.execute(statement)
        conn.execute("SELECT pg_reload_conf()")
        live = dict(conn.execute("SELECT name, setting FROM pg_settings WHERE name = ANY(%s)", (list(_NEED_RESTART),)))
    if any(live.get(k) != PRIMARY_SETTINGS[k] for k in _NEED_RESTART):  # not with initdb's defaults
        primary.stop()
        primary.start()


def _create_slot(primary: Cluster, slot: str) -> None:
    """A fresh physical slot reserving WAL from now on (a leftover of a failed ``add`` is dropped first)."""
    with _connect(primary) as conn:
        if conn.execute("SELECT 1 FROM pg_replication_slots WHERE slot_name = %s", (slot,)).fetchone():
            conn.execute("SELECT pg_drop_replication_slot(%s)", (slot,))
        conn.execute("SELECT pg_create_physical_replication_slot(%s, true)", (slot,))


def _drop_slot(primary: Cluster, slot: str, timeout_s: float = 15) -> None:
    """Drop the slot once its walsender has gone (a standby just stopped leaves it active for a moment)."""
    deadline = time.monotonic() + timeout_s
    with _connect(primary) as conn:
        while True:
            row = conn.execute("SELECT active FROM pg_replication_slots WHERE slot_name = %s", (slot,)).fetchone()
            if row is None:
                return
            if not row[0]:
                conn.execute("SELECT pg_drop_replication_slot(%s)", (slot,))
                return
            if time.monotonic() > deadline:
                raise ClusterError(f"replication slot {slot} is still in use: stop the standby using it first")
            time.sleep(0.2)


def _choose_port(primary: Cluster, port: int | None) -> int:
    taken = {primary.port, *(r.port for r in replicas(primary))}
    if port is not None:
        if port in taken or (primary.socket_dir is None and port_in_use(port)):
            raise ClusterError(f"port {port} is taken: choose another with --port, or leave it out")
        return port
    if primary.socket_dir is None:
        while (candidate := free_port()) in taken:
            pass
        return candidate
    candidate = primary.port + 1  # socket-only: a port is just the socket file's name, .s.PGSQL.<port>
    while candidate in taken or (primary.socket_dir / f".s.PGSQL.{candidate}.lock").exists():
        candidate += 1
    return candidate


# ---- the standby's side ---------------------------------------------------------------------------
def _base_backup(primary: Cluster, replica: Replica) -> None:
    """Copy the primary into the standby's (empty) data directory through the slot, as the server account."""
    folder = replica.pgdata.parent
    folder.parent.mkdir(parents=True, exist_ok=True)
    folder.mkdir(exist_ok=True)
    for made in (folder.parent, folder):  # the server account traverses them to reach pgdata, as .data/
        made.chmod(0o755 if primary.throwaway else 0o711 if is_root() else 0o700)
    replica.pgdata.mkdir(mode=0o700)
    replica.pgdata.chmod(0o700)
    primary._chown_to_server(replica.pgdata)
    host = str(primary.socket_dir) if primary.socket_dir is not None else "127.0.0.1"
    args = ["-D", str(replica.pgdata), "-R", "-X", "stream", "-S", replica.slot, "-c", "fast"]
    args += ["-h", host, "-p", str(primary.port), "-U", REPLICATION_ROLE, "-w"]
    if primary.throwaway:
        args.append("--no-sync")
    # the password goes by the environment (not the command line); -R writes it into the standby's
    # primary_conninfo (postgresql.auto.conf, mode 600 in its 700 directory) for the walreceiver
    env = {"PGPASSWORD": primary.replication_password} if primary.socket_dir is None else None
    primary._run("pg_basebackup", *args, env=env)


def _configure_standby(standby: Cluster, name: str) -> None:
    """Its own port and sockets (the copy carries the primary's include files), hot standby with feedback."""
    standby.write_server_file(standby.pgdata / "server.log", "")  # the copy brought the primary's log
    standby._write_conf()
    lines = [f"{k} = '{v}'" for k, v in PRIMARY_SETTINGS.items()]
    lines += ["hot_standby = on", "hot_standby_feedback = on", f"cluster_name = 'xiangmap_{name}'"]
    standby.write_conf_include(CONF_FILE, lines, _WRITER)


def _remember(primary: Cluster, replica: Replica) -> None:
    primary.replicas = [r for r in primary.replicas if r["name"] != replica.name] + [replica.record()]
    primary._save()


# ---- what the CLI and the tests call --------------------------------------------------------------
def add_replica(primary: Cluster, name: str = "replica1", port: int | None = None) -> Replica:
    """Make and start a hot standby of the running ``primary``, with its own slot, data directory and port."""
    if not _NAME.match(name):
        raise ClusterError(f"replica name {name!r}: lower-case letters, digits and _ (a letter first, at most 31)")
    if any(r.name == name for r in replicas(primary)):
        raise ClusterError(f"replica {name!r} exists already: xiangmap db replica remove {name} first")
    if not primary.running():
        raise ClusterError("the primary is not running: xiangmap db cluster start")
    replica = Replica(
        name=name,
        pgdata=primary.pgdata.parent / "replicas" / name / "pg",
        port=_choose_port(primary, port),
        slot=f"xiangmap_{name}",
    )
    if replica.pgdata.exists():
        raise ClusterError(f"{replica.pgdata} exists already: remove it (a standby left behind?)")
    _allow_replication(primary)
    _create_slot(primary, replica.slot)
    try:
        _base_backup(primary, replica)
    except BaseException:
        shutil.rmtree(replica.pgdata.parent, ignore_errors=True)
        _drop_slot(primary, replica.slot)
        raise
    _remember(primary, replica)  # from here on, a standby that fails to start can still be removed
    _configure_standby(standby_server(primary, replica), name)
    return start_replica(primary, name)


def start_replica(primary: Cluster, name: str) -> Replica:
    """Start a stopped standby; it replays what it missed from its slot and streams on."""
    replica = get_replica(primary, name)
    standby = standby_server(primary, replica)
    standby.start()  # over TCP it moves to a free port when its own is taken, as the primary does
    if standby.port != replica.port:
        replica = Replica(replica.name, replica.pgdata, standby.port, replica.slot)
        _remember(primary, replica)
    return replica


def stop_replica(primary: Cluster, name: str) -> None:
    """Stop a standby (its slot keeps the WAL it will need to rejoin)."""
    standby_server(primary, get_replica(primary, name)).stop()


def remove_replica(primary: Cluster, name: str) -> None:
    """Stop the standby, drop its slot (so the primary stops keeping WAL for it), delete its data, forget it."""
    replica = get_replica(primary, name)
    if not primary.running():
        raise ClusterError("the primary is not running, so the replica's slot cannot be dropped: start it first")
    standby_server(primary, replica).stop()
    _drop_slot(primary, replica.slot)
    folder = replica.pgdata.parent if replica.pgdata.parent.name == name else replica.pgdata
    shutil.rmtree(folder, ignore_errors=True)
    with_others = folder.parent
    if with_others.name == "replicas" and with_others.is_dir() and not any(with_others.iterdir()):
        with_others.rmdir()
    primary.replicas = [r for r in primary.replicas if r["name"] != name]
    primary._save()


def replica_urls(primary: Cluster, superuser: bool = False) -> list[str]:
    """SQLAlchemy URLs of the standbys: the application role's (``XIANGMAP_REPLICA_URLS``), or the superuser's."""
    urls = []
    for replica in replicas(primary):
        standby = standby_server(primary, replica)
        urls.append(standby.url() if superuser else standby.app_url() or standby.url())
    return urls


_PRIMARY_VIEW = """
SELECT s.slot_name, s.active, pg_wal_lsn_diff(pg_current_wal_lsn(), s.restart_lsn)::bigint,
       r.state, r.sent_lsn::text, r.replay_lsn::text, r.replay_lag,
       pg_wal_lsn_diff(pg_current_wal_lsn(), r.replay_lsn)::bigint
  FROM pg_replication_slots s LEFT JOIN pg_stat_replication r ON r.pid = s.active_pid
"""
_STANDBY_VIEW = "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text, now() - pg_last_xact_replay_timestamp()"


def replica_status(primary: Cluster) -> list[dict[str, Any]]:
    """Each recorded standby as the primary sees it (slot, ``pg_stat_replication``) and as it sees itself.

    ``lag_bytes`` is how much WAL the primary has written that the standby has not replayed;
    ``replay_delay`` is the time since the last transaction it replayed committed, so it also grows
    while the primary is idle.  ``retained_bytes`` is the WAL its slot keeps on the primary.
    """
    seen: dict[str, tuple[Any, ...]] = {}
    if primary.running():
        with _connect(primary) as conn:
            seen = {row[0]: row for row in conn.execute(_PRIMARY_VIEW)}
    out = []
    for replica in replicas(primary):
        standby = standby_server(primary, replica)
        slot = seen.get(replica.slot)
        entry: dict[str, Any] = {
            "name": replica.name,
            "port": replica.port,
            "pgdata": str(replica.pgdata),
            "url": make_url(standby.app_url() or standby.url()).render_as_string(hide_password=True),
            "slot": replica.slot if slot else None,
            "slot_active": bool(slot and slot[1]),
            "retained_bytes": slot[2] if slot else None,
            "state": slot[3] if slot else None,
            "sent_lsn": slot[4] if slot else None,
            "replay_lsn": slot[5] if slot else None,
            "replay_lag": slot[6] if slot else None,
            "lag_bytes": slot[7] if slot else None,
            "running": standby.running(),
            "in_recovery": None,
            "standby_replay_lsn": None,
            "replay_delay": None,
            "error": None,
        }
        if entry["running"]:
            try:
                with _connect(standby) as conn:
                    row = conn.execute(_STANDBY_VIEW).fetchone()
                assert row is not None
                entry["in_recovery"], entry["standby_replay_lsn"], entry["replay_delay"] = row
            except psycopg.Error as exc:
                entry["error"] = str(exc).strip()
        out.append(entry)
    return out


def describe_delay(delay: timedelta | None) -> str:
    """A replay delay for people: '0.4 s', '3 min', or '-' when the standby has replayed nothing yet."""
    if delay is None:
        return "-"
    seconds = delay.total_seconds()
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.0f} min"
