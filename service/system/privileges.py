"""``xiangmap serve`` started as root: bind, then become an unprivileged system account for good.

Order (docs/decisions/0092-serve-drops-root.md): as root, read what only root may read (the managed
cluster's ``cluster.json`` for the application role's URL, a mode-600 ``.env``) into the process's
environment; make sure the account can reach the code, the virtual environment and the vendored
assets (granting traversal of root-only ancestors with a POSIX ACL, or refusing with what to do);
give it a private temporary folder (downloads cache, uploads, Chromium profiles); bind the socket;
then ``setgroups``/``setgid``/``setuid``.  uvicorn's worker and reload processes are started after
that, by the unprivileged process, so every process that answers a request is unprivileged.
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

TMP_ROOT = Path("/var/cache/xiangmap")  # root-owned parent, so nobody can squat the account's folder
CREATE_ACCOUNT = "useradd --system --user-group --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin"


class PrivilegeError(RuntimeError):
    """The server cannot drop root safely; the message says what to do."""


def is_root() -> bool:
    return os.geteuid() == 0


def account(name: str) -> pwd.struct_passwd:
    try:
        entry = pwd.getpwnam(name)
    except KeyError as missing:
        raise PrivilegeError(
            f"xiangmap serve runs as root but the system account {name!r} does not exist: create it with "
            f"`{CREATE_ACCOUNT} {name}` (scripts/bootstrap.sh does), or set XIANGMAP_SERVE_USER to another one"
        ) from missing
    if entry.pw_uid == 0:
        raise PrivilegeError(f"XIANGMAP_SERVE_USER={name!r} is root: name an unprivileged account")
    return entry


def _probe(user: str, test: str, paths: list[Path]) -> list[bool]:
    """``test -x`` / ``test -r`` (``test`` is ``-x`` or ``-r``) for each path, as ``user``, in one process."""
    if not paths:
        return []
    script = f'for p in "$@"; do if test {test} "$p"; then echo 1; else echo 0; fi; done'
    out = subprocess.run(
        ["runuser", "-u", user, "--", "sh", "-c", script, "probe", *map(str, paths)],
        capture_output=True,
        text=True,
        check=True,
    )
    return [line == "1" for line in out.stdout.split()]


def needed_paths() -> list[Path]:
    """What the server reads: the code, the interpreter and its packages, the layers, geodata and assets."""
    from service.assets import STATIC_DIR
    from service.settings import PROJECT_ROOT, get_settings

    settings = get_settings()
    paths = [
        PROJECT_ROOT,
        PROJECT_ROOT / "service",
        STATIC_DIR,
        Path(sys.prefix),
        Path(sys.executable).resolve(),
        Path(os.path.dirname(os.__file__)),
        Path(settings.layers_dir),
        Path(settings.geodata_dir),
    ]
    import uvicorn

    paths.append(Path(uvicorn.__file__).parent.parent)  # site-packages
    return [p for p in dict.fromkeys(p.resolve() for p in paths) if p.exists()]


def _ancestors(paths: Iterable[Path]) -> list[Path]:
    seen: dict[Path, None] = {}
    for path in paths:
        for parent in [*reversed(path.parents), path]:
            if parent.is_dir():
                seen.setdefault(parent, None)
    return list(seen)


def grant_reach(user: str, paths: list[Path]) -> list[Path]:
    """Let ``user`` traverse every folder down to ``paths`` (an ACL ``u:USER:x``); returns the folders changed.

    Only traversal is granted on the folders above, never listing or reading; a needed folder that is
    itself root-only (a checkout cloned straight into ``mktemp -d``) is made listable for the account
    alone (``u:USER:rx``), not for others.  Files keep their modes: a path the account still cannot read
    (a clone made with umask 077) is refused with what to do.
    """
    folders = _ancestors(paths)  # parents before children
    granted: list[Path] = []
    while True:
        # the first folder it cannot traverse; those below it are probed again once it can
        blocked = next((f for f, ok in zip(folders, _probe(user, "-x", folders), strict=True) if not ok), None)
        if blocked is None:
            break
        setfacl = shutil.which("setfacl")
        if setfacl is None:
            raise PrivilegeError(
                f"the account {user!r} cannot reach {blocked} (a root-only folder) and setfacl is missing: "
                "apt-get install acl (scripts/bootstrap.sh does), or clone xiangmap outside root-only folders "
                "(e.g. /srv/xiangmap), or run it in the Docker image"
            )
        if blocked in granted:
            raise PrivilegeError(f"the account {user!r} still cannot traverse {blocked} after an ACL granted it")
        subprocess.run([setfacl, "-m", f"u:{user}:x", str(blocked)], check=True, capture_output=True)
        granted.append(blocked)
        folders = folders[folders.index(blocked) :]
    unreadable = [p for p, ok in zip(paths, _probe(user, "-r", paths), strict=True) if not ok]
    setfacl = shutil.which("setfacl")
    folders_to_read = [p for p in unreadable if p.is_dir() and not p.is_symlink()]
    if folders_to_read and setfacl is not None:
        # a checkout that is itself a root-only folder (``git clone . "$(mktemp -d)"``): the account may
        # list and enter that one folder; what is inside keeps its own modes
        for folder in folders_to_read:
            subprocess.run([setfacl, "-m", f"u:{user}:rx", str(folder)], check=True, capture_output=True)
            granted.append(folder)
        unreadable = [p for p, ok in zip(paths, _probe(user, "-r", paths), strict=True) if not ok]
    if unreadable:
        raise PrivilegeError(
            f"the account {user!r} cannot read {unreadable[0]}: make the checkout readable "
            f"(chmod -R go+rX {unreadable[0]}) or clone it with umask 022"
        )
    return granted


def private_tmp(entry: pwd.struct_passwd) -> Path:
    """A folder only the account can enter, under a root-owned parent; its temporary files go there."""
    TMP_ROOT.mkdir(mode=0o755, exist_ok=True)
    os.chown(TMP_ROOT, 0, 0)
    TMP_ROOT.chmod(0o755)
    folder = TMP_ROOT / entry.pw_name
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        folder.unlink()
    folder.mkdir(mode=0o700, exist_ok=True)
    os.chown(folder, entry.pw_uid, entry.pw_gid, follow_symlinks=False)
    folder.chmod(0o700)
    return folder


def export_root_only_settings() -> None:
    """Put what only root can read (the app role's URL, a mode-600 .env) in the environment of the server.

    The owner's URL (``DATABASE_URL``) is removed: the server never migrates, so it never needs it.
    """
    from dotenv import dotenv_values

    from service.settings import get_settings

    if os.path.exists(".env"):
        for key, value in dotenv_values(".env").items():
            if value is not None:
                os.environ.setdefault(key, value)
    get_settings.cache_clear()
    settings = get_settings()
    os.environ["XIANGMAP_APP_DATABASE_URL"] = settings.resolved_app_database_url()
    for key in ("DATABASE_URL", "XIANGMAP_DATABASE_URL"):
        os.environ.pop(key, None)
    get_settings.cache_clear()


def drop_to(entry: pwd.struct_passwd, tmp: Path) -> None:
    """Become ``entry`` for good (real, effective and saved ids; supplementary groups of the account)."""
    os.setgroups(os.getgrouplist(entry.pw_name, entry.pw_gid))
    os.setresgid(entry.pw_gid, entry.pw_gid, entry.pw_gid)
    os.setresuid(entry.pw_uid, entry.pw_uid, entry.pw_uid)
    if os.geteuid() == 0 or os.getuid() == 0:
        raise PrivilegeError("could not drop root")  # pragma: no cover - setresuid raises first
    os.environ.update(
        HOME=str(tmp), USER=entry.pw_name, LOGNAME=entry.pw_name, TMPDIR=str(tmp), XDG_CACHE_HOME=str(tmp)
    )
    tempfile.tempdir = None  # re-read TMPDIR
    os.umask(0o077)


def loose_secret_files() -> list[Path]:
    """Files holding passwords or keys that others than their owner may read (they should be mode 600)."""
    from service.settings import get_settings

    candidates = [Path(".env").resolve(), get_settings().data_dir / "cluster.json"]
    loose = []
    for path in candidates:
        with contextlib.suppress(OSError):
            if path.is_file() and path.stat().st_mode & 0o077:
                loose.append(path)
    return loose


def describe(entry: pwd.struct_passwd) -> str:
    return f"{entry.pw_name} (uid {entry.pw_uid}, gid {entry.pw_gid} {grp.getgrgid(entry.pw_gid).gr_name})"
