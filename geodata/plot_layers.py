"""Draw the bundled layers around Zhuzhou-Xiangtan-Changsha into geodata/figures/layers.png.

Run: ``.venv/bin/python geodata/plot_layers.py`` (reads only the committed geodata/layers/*.geojson).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

ROOT = Path(__file__).resolve().parent
LAYERS = ROOT / "layers"
OUT = ROOT / "figures" / "layers.png"
GREEN = {"核心保护区": "#2e7d32", "融合发展区": "#a5d6a7"}


def main() -> Path:
    plt.rcParams["font.sans-serif"] = ["Noto Sans CJK SC", "Noto Serif CJK SC", "DejaVu Sans"]
    read = {p.stem: gpd.read_file(p) for p in LAYERS.glob("*.geojson")}
    fig, ax = plt.subplots(figsize=(10, 10))
    read["districts"].boundary.plot(ax=ax, color="#888", linewidth=0.6)
    zones = read["green_heart"][read["green_heart"].scheme == "2024"]
    zones.plot(ax=ax, color=[GREEN[z] for z in zones.subzone], alpha=0.7)
    old = read["green_heart"][read["green_heart"].scheme == "2010-2030"]
    old.boundary.plot(ax=ax, color="#c62828", linewidth=0.5, linestyle="--")
    read["qingshuitang"].boundary.plot(ax=ax, color="#6d4c41", linewidth=1)
    read["demo_zones"].boundary.plot(ax=ax, color="#6a1b9a", linewidth=1)
    read["streams"].plot(ax=ax, color="#1565c0", linewidth=1.2)
    read["roads"].plot(ax=ax, color="black", linewidth=0.8)
    read["sewage_plants"].plot(ax=ax, color="#00acc1", markersize=25, marker="s")
    sites = read["sites"][read["sites"].geom_type == "Point"]
    sites.plot(ax=ax, color="#ef6c00", markersize=12)
    for _, site in sites.iterrows():
        if 112.85 < site.geometry.x < 113.3 and 27.76 < site.geometry.y < 28.15:
            ax.annotate(site["name"], (site.geometry.x, site.geometry.y), fontsize=6, xytext=(2, 2),
                        textcoords="offset points")  # fmt: skip
    ax.set_xlim(112.85, 113.3)
    ax.set_ylim(27.76, 28.15)
    ax.set_title("xiangmap bundled layers (2024 Green Heart zoning filled, 2010-2030 dashed); approximations")
    OUT.parent.mkdir(exist_ok=True)
    fig.savefig(OUT, dpi=90, bbox_inches="tight")
    return OUT


if __name__ == "__main__":
    print(main())
