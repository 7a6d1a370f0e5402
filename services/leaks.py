"""Finds store or mall identifiers in what a customer receives: bodies and headers, every byte.

Used by the end-to-end tests and the demo; the catalog's and order's own tests keep their own
stricter checks. Comparison is case-insensitive; identifiers shorter than 4 characters are
ignored (they would match ordinary words).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import httpx


@dataclass
class LeakScanner:
    identifiers: set[str] = field(default_factory=set)
    leaks: list[str] = field(default_factory=list)
    responses_checked: int = 0

    def add(self, values: Iterable[str | None]) -> None:
        for value in values:
            if value and len(value.strip()) >= 4:
                self.identifiers.add(value.strip().casefold())

    def check(self, response: httpx.Response, label: str = "") -> list[str]:
        """Records and returns the identifiers found in the response."""
        self.responses_checked += 1
        text = response.content.decode("utf-8", errors="replace").casefold()
        headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items()).casefold()
        found = sorted(i for i in self.identifiers if i in text or i in headers)
        where = label or f"{response.request.method} {response.request.url.path}"
        self.leaks.extend(f"{where}: {identifier}" for identifier in found)
        return found
