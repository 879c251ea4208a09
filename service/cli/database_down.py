"""The one way a command says the database went away: a one-line message and exit status 3.

Imports and loads run in one transaction, so a connection lost before the commit leaves nothing
behind (docs/trust.md); the message says so and what to do.  Exit statuses of the import commands:
1 bad rows, 2 file refused, 3 database not answering.
"""

from __future__ import annotations

from sqlalchemy.exc import OperationalError

EXIT_DATABASE_DOWN = 3


def reason(exc: OperationalError) -> str:
    """The driver's message on one line (psycopg's spans several: "connection refused\\n\\tIs the server ...")."""
    return " ".join(str(exc.orig if exc.orig is not None else exc).split())


def message(exc: OperationalError, nothing: str, again: str) -> str:
    """``nothing imported: the database is not answering (...); run the import again once it is back``."""
    return f"{nothing}: the database is not answering ({reason(exc)}); run {again} again once it is back"
