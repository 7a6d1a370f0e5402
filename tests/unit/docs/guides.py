"""What the integration guides' tests read from the guides."""

from __future__ import annotations

import re
from pathlib import Path

DOCS = Path(__file__).resolve().parents[3] / "docs"


def worked_example(guide: Path) -> dict[str, str]:
    """The guide's worked signature example: secret, headers and body, as the guide prints them."""
    text = guide.read_text()
    fields = {}
    for name in ("secret", "webhook-id", "webhook-timestamp", "body", "webhook-signature"):
        match = re.search(rf"^{name}\s+(\S.*)$", text, re.MULTILINE)
        assert match, f"the guide's worked example has no {name}"
        fields[name] = match.group(1).strip()
    return fields
