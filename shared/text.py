"""Text a client sends, checked before it goes anywhere: PostgreSQL cannot store NUL characters,
and an identifier that travels into a URL or a query must look like one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, StringConstraints, field_validator

NUL_MESSAGE = "must not contain NUL characters (\\u0000)"
# Store, retailer and mall ids: letters, digits and . _ - only, so they are safe in a path.
ID_PATTERN = r"^[A-Za-z0-9._-]+$"


def has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list | tuple | set | frozenset):
        return any(has_nul(item) for item in value)
    if isinstance(value, Mapping):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    return False


def refuse_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError(NUL_MESSAGE)
    return value


# A text field that must not be blank: surrounding whitespace is dropped, nothing may remain empty.
NonBlank = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
NoNul = Annotated[str, AfterValidator(refuse_nul)]


class RequestModel(BaseModel):
    """A request body: no field, however nested in lists, holds a NUL character."""

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul_characters(cls, value: Any) -> Any:
        if has_nul(value):
            raise ValueError(NUL_MESSAGE)
        return value
