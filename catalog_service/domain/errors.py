"""Domain errors the API maps to problem documents."""

from __future__ import annotations


class UnknownOffer(Exception):
    """The offer id is not ours, or its day or area can no longer be served."""


class ProductRejected(Exception):
    def __init__(self, errors: list[tuple[int, str]]) -> None:
        super().__init__(f"{len(errors)} bad product rows")
        self.errors = errors
