"""Small pydantic building blocks shared by request schemas."""

from __future__ import annotations

from pydantic import AfterValidator


def not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank (only whitespace)")
    return value


#: ``Annotated[str, Field(...), NonBlank]``: text that has more than whitespace in it.
NonBlank = AfterValidator(not_blank)
