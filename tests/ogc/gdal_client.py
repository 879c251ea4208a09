"""Run GDAL (pyogrio) in a child process against the live server.

pyogrio holds the GIL while GDAL fetches over HTTP, so GDAL in the test process would deadlock
with the uvicorn thread serving it; a child process is a real, independent client anyway.
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
source, target, options = sys.argv[1], sys.argv[2], pickle.loads(bytes.fromhex(sys.argv[3]))
frame = pyogrio.read_dataframe(source, **options)
with open(target, "wb") as handle:
    pickle.dump(frame, handle)
"""


def gdal_read(source: str, **options: Any) -> Any:
    """``pyogrio.read_dataframe(source, **options)`` in a child process; returns the GeoDataFrame."""
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "frame.pickle"
        done = subprocess.run(
            [sys.executable, "-c", READER, source, str(target), pickle.dumps(options).hex()],
            capture_output=True,
            text=True,
            timeout=120,
            env={"GDAL_HTTP_TIMEOUT": "30", "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": "", "PATH": "/usr/bin:/bin"},
        )
        if done.returncode != 0:
            raise AssertionError(f"GDAL failed on {source}: {done.stderr[-2000:]}")
        with target.open("rb") as handle:
            return pickle.load(handle)
