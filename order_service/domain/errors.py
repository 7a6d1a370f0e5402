"""Domain errors: only api/ turns them into problem responses."""

from __future__ import annotations


class DomainError(Exception):
    pass


class IllegalTransition(DomainError):
    def __init__(self, current: str, wanted: str) -> None:
        super().__init__(f"cannot go from {current} to {wanted}")
        self.current = current
        self.wanted = wanted


class SoldOut(DomainError):
    """No single mall can fill these SKUs in full."""

    def __init__(self, skus: list[str]) -> None:
        super().__init__(f"sold out: {', '.join(skus)}")
        self.skus = skus


class UnknownShipment(DomainError):
    """No such shipment (for a store: another store's shipment looks the same)."""


class NotCancellable(DomainError):
    """Something of the order was already delivered or failed."""


class LineNotInShipment(DomainError):
    def __init__(self, skus: list[str]) -> None:
        super().__init__(", ".join(skus))
        self.skus = skus


class TipNotAllowed(DomainError):
    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class TipAlreadyGiven(DomainError):
    def __init__(self, tip_cents: int) -> None:
        super().__init__(f"already tipped {tip_cents}")
        self.tip_cents = tip_cents


class QuoteExpired(DomainError):
    """A quote holds for minutes only."""


class QuoteMismatch(DomainError):
    """The checkout is not what was quoted (its customer, lines or address)."""

    def __init__(self, what: str) -> None:
        super().__init__(f"not the quoted {what}")
        self.what = what


class UnknownWindow(DomainError):
    def __init__(self, window_id: str) -> None:
        super().__init__(f"no window {window_id} in this quote")
        self.window_id = window_id


class WindowFull(DomainError):
    """The fleet has no room left in that window (or it has passed)."""
