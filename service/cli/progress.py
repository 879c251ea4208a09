"""``xiangmap progress``: Progress: import monthly reports (issue 6)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Progress: import monthly reports (issue 6).", no_args_is_help=True)
