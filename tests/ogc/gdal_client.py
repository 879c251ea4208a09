"""Run GDAL (pyogrio) in a child process against the live server.

pyogrio holds the GIL while GDAL fetches over HTTP, so GDAL in the test process would deadlock
with the uvicorn thread serving it; a child process is a real, independent client anyway
(docs/decisions/0035-gdal-tests-in-a-child-process.md).
"""

from __future__ import annotations

import pickle
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

READER = """
import pickle, sys, pyogrio
target, jobs = sys.argv[1], pickle.loads(bytes.fromhex(sys.argv[2]))
frames = [pyogrio.read_dataframe(source, **options) for source, options in jobs]
with open(target, "wb") as handle:
    pickle.dump(frames, handle)
"""


def gdal_read_many(jobs: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    """``pyogrio.read_dataframe(source, **options)`` for each job, in one child process."""
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "frames.pickle"
        done = subprocess.run(
            [sys.executable, "-c", READER, str(target), pickle.dumps(jobs).hex()],
            capture_output=True,
            text=True,
            timeout=240,
            env={"GDAL_HTTP_TIMEOUT": "60", "PATH": "/usr/bin:/bin"},
        )
        if done.returncode != 0:
            raise AssertionError(f"GDAL failed: {done.stderr[-2000:]}")
        with target.open("rb") as handle:
            return pickle.load(handle)


def gdal_read(source: str, **options: Any) -> Any:
    return gdal_read_many([(source, options)])[0]
