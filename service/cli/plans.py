"""``xiangmap plans``: Plans: import planners' spreadsheets (issue 4)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Plans: import planners' spreadsheets (issue 4).", no_args_is_help=True)
