from __future__ import annotations

from shared.service import ConsumerSpec

CONSUMERS: list[ConsumerSpec] = []
