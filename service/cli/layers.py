"""``xiangmap layers``: Layers: load and replace layer data (issue 3)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Layers: load and replace layer data (issue 3).", no_args_is_help=True)
