"""Numbers in write bodies that refuse JSON booleans (pydantic's lax mode reads ``true`` as 1).

``percent: true`` would be stored as 1 %; a body field typed :data:`Number` or :data:`Integer` refuses
``true`` / ``false`` with a message naming the field (a 400 through the validation handler), while still
accepting numbers written as strings where the field did before.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator

NOT_BOOL = "must be a number, not true or false"


def refuse_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError(NOT_BOOL)
    return value


Number = Annotated[float, BeforeValidator(refuse_bool)]
Integer = Annotated[int, BeforeValidator(refuse_bool)]
