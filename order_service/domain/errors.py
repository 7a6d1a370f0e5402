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
