from __future__ import annotations

import base64
import hashlib
import hmac
import re
from datetime import UTC, datetime
from pathlib import Path

from standardwebhooks import Webhook

GUIDE = Path(__file__).resolve().parents[3] / "docs" / "retailer-integration.md"


def worked_example() -> dict[str, str]:
    text = GUIDE.read_text()
    fields = {}
    for name in ("secret", "webhook-id", "webhook-timestamp", "body", "webhook-signature"):
        match = re.search(rf"^{name}\s+(\S.*)$", text, re.MULTILINE)
        assert match, f"the guide's worked example has no {name}"
        fields[name] = match.group(1).strip()
    return fields


def test_the_guide_s_worked_signature_is_what_the_library_computes() -> None:
    example = worked_example()
    when = datetime.fromtimestamp(int(example["webhook-timestamp"]), UTC)

    signed = Webhook(example["secret"]).sign(example["webhook-id"], when, example["body"])

    assert signed == example["webhook-signature"]


def test_the_guide_s_plain_python_recipe_gives_the_same_signature() -> None:
    example = worked_example()
    key = base64.b64decode(example["secret"].removeprefix("whsec_"))
    content = f"{example['webhook-id']}.{example['webhook-timestamp']}.{example['body']}"

    digest = hmac.new(key, content.encode(), hashlib.sha256).digest()

    assert "v1," + base64.b64encode(digest).decode() == example["webhook-signature"]
    assert key == b"mall-to-home-example-secret-32by"
