"""The storefront guide's signature example is what the library computes, and its Python
recipe runs: it accepts what the order service signs and refuses a changed body."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from order_service.webhooks import sign
from tests.unit.docs.guides import DOCS, worked_example

GUIDE = DOCS / "storefront-integration.md"


def the_recipe() -> dict[str, Any]:
    """Runs the guide's Python block and returns what it defined."""
    blocks = re.findall(r"```python\n(.*?)```", GUIDE.read_text(), re.DOTALL)
    assert len(blocks) == 1, "the guide has one Python recipe"
    namespace: dict[str, Any] = {}
    exec(compile(blocks[0], str(GUIDE), "exec"), namespace)
    return namespace


def test_the_worked_signature_is_what_the_library_and_the_sender_compute() -> None:
    example = worked_example(GUIDE)
    when = datetime.fromtimestamp(int(example["webhook-timestamp"]), UTC)

    by_library = Webhook(example["secret"]).sign(example["webhook-id"], when, example["body"])
    by_sender = sign([example["secret"]], example["webhook-id"], when, example["body"].encode())

    assert by_library == by_sender == example["webhook-signature"]


def test_the_recipe_accepts_a_fresh_delivery_and_refuses_a_changed_one() -> None:
    recipe = the_recipe()
    example = worked_example(GUIDE)
    now = datetime.now(UTC)
    body = example["body"].encode()
    headers = {
        "webhook-id": example["webhook-id"],
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": sign([recipe["SECRET"]], example["webhook-id"], now, body),
    }

    event = recipe["receive"](headers, body)

    assert event["type"] == "order.out_for_delivery"
    with pytest.raises(WebhookVerificationError):
        recipe["receive"](headers, body.replace(b"picked_up", b"delivered"))


def test_the_recipe_accepts_either_signature_during_a_rotation() -> None:
    recipe = the_recipe()
    example = worked_example(GUIDE)
    now = datetime.now(UTC)
    body = example["body"].encode()
    other = "whsec_" + "b3RoZXItc2VjcmV0LW9mLTMyLWJ5dGVzLWxvbmchIQ=="
    rotated = sign([other, recipe["SECRET"]], example["webhook-id"], now, body)

    headers = {
        "webhook-id": example["webhook-id"],
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": rotated,
    }

    assert len(rotated.split(" ")) == 2
    assert recipe["receive"](headers, body)["type"] == "order.out_for_delivery"
    assert recipe["is_signed_by_us"](
        example["webhook-id"], headers["webhook-timestamp"], example["body"], rotated
    )
