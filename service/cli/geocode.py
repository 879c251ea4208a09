"""``xiangmap geocode``: Geocode projects onto the layers (issue 4)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Geocode projects onto the layers (issue 4).", no_args_is_help=True)
