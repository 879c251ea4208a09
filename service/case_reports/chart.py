"""A grouped bar chart as plain numbers for a server-rendered SVG (templates/case_reports/_bars.svg.html): no
JavaScript, no charting library; colours and text come from classes in the page's CSS file (the CSP allows no
inline style).  One group per period, one bar per city, the lowest rate of a period marked."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 52, 12, 16, 40


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    city_index: int
    lowest: bool
    label: str  # the tooltip (SVG <title>)


@dataclass
class Chart:
    width: int = WIDTH
    height: int = HEIGHT
    bars: list[Bar] = field(default_factory=list)
    ticks: list[tuple[float, str]] = field(default_factory=list)  # (y, label)
    groups: list[tuple[float, str]] = field(default_factory=list)  # (x centre, label)
    plot: tuple[float, float, float, float] = (LEFT, TOP, WIDTH - RIGHT, HEIGHT - BOTTOM)


def _nice_step(top: float) -> float:
    if top <= 0:
        return 1.0
    raw = top / 4
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)


def grouped_bars(periods: list[dict[str, Any]], value: str = "per_100km2", unit: str = "件/百km²") -> Chart:
    chart = Chart()
    x0, y0, x1, y1 = chart.plot
    values = [c[value] or 0 for p in periods for c in p["cities"]]
    step = _nice_step(max(values, default=0))
    top = step * max(1, math.ceil(max(values, default=0) / step))
    for i in range(round(top / step) + 1):
        v = i * step
        chart.ticks.append((y1 - (y1 - y0) * v / top, f"{v:g}"))
    if not periods:
        return chart
    group_w = (x1 - x0) / len(periods)
    bar_w = min(28.0, group_w * 0.8 / 3)
    for g, period in enumerate(periods):
        centre = x0 + group_w * (g + 0.5)
        chart.groups.append((centre, period["period"]))
        for i, city in enumerate(period["cities"]):
            v = city[value]
            h = 0.0 if v is None else (y1 - y0) * v / top
            shown = "无绿心范围" if v is None else f"{v:.2f} {unit}"
            chart.bars.append(
                Bar(
                    x=centre + (i - 1.5) * bar_w,
                    y=y1 - h,
                    width=bar_w - 2,
                    height=h,
                    city_index=i,
                    lowest=bool(city["lowest"]),
                    label=f"{period['period']} {city['city']}：{city['violations']} 件，{shown}"
                    + ("（三市最低）" if city["lowest"] else ""),
                )
            )
    return chart
