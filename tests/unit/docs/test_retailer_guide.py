from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime

from standardwebhooks import Webhook

from tests.unit.docs.guides import DOCS, worked_example

GUIDE = DOCS / "retailer-integration.md"


def test_the_guide_s_worked_signature_is_what_the_library_computes() -> None:
    example = worked_example(GUIDE)
    when = datetime.fromtimestamp(int(example["webhook-timestamp"]), UTC)

    signed = Webhook(example["secret"]).sign(example["webhook-id"], when, example["body"])

    assert signed == example["webhook-signature"]


def test_the_guide_s_plain_python_recipe_gives_the_same_signature() -> None:
    example = worked_example(GUIDE)
    key = base64.b64decode(example["secret"].removeprefix("whsec_"))
    content = f"{example['webhook-id']}.{example['webhook-timestamp']}.{example['body']}"

    digest = hmac.new(key, content.encode(), hashlib.sha256).digest()

    assert "v1," + base64.b64encode(digest).decode() == example["webhook-signature"]
    assert key == b"mall-to-home-example-secret-32by"
