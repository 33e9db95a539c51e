"""Small pydantic building blocks shared by request schemas."""

from __future__ import annotations

from pydantic import AfterValidator


def not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank (only whitespace)")
    if "\x00" in value:
        # PostgreSQL's text cannot hold NUL: refused here as bad input, not failed at the insert
        # (which lost the whole send batch on PostgreSQL while SQLite stored it).
        raise ValueError("must not contain the NUL character")
    return value


#: ``Annotated[str, Field(...), NonBlank]``: text that has more than whitespace in it and no NUL
#: character, so the same text is storable on SQLite and PostgreSQL.
NonBlank = AfterValidator(not_blank)
