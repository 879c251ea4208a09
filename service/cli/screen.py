"""``xiangmap screen``: Screen projects against protected zones (issue 7)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Screen projects against protected zones (issue 7).", no_args_is_help=True)
