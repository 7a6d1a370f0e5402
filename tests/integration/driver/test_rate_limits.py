"""Sign-ups and token refreshes are limited per client address."""

from __future__ import annotations

import uuid

from sqlalchemy import text

from driver_service.app import create_app
from tests.integration.driver.conftest import Service
from tests.support import running_app


async def test_sign_ups_past_the_rate_are_429_and_create_nobody(service: Service) -> None:
    app = create_app(service.settings.model_copy(update={"rate_limit_sign_in": "2/minute"}))

    async with running_app(app) as api:
        answers = [
            await api.post(
                "/v1/drivers",
                json={
                    "name": "Ana",
                    "phone": f"+1702{uuid.uuid4().int % 10_000_000:07d}",
                    "vehicle_type": "car",
                },
            )
            for _ in range(3)
        ]
        refresh = await api.post("/v1/auth/token", json={"refresh_token": "x"})

    assert [r.status_code for r in answers] == [201, 201, 429]
    assert answers[2].json()["code"] == "rate_limited"
    assert int(answers[2].headers["Retry-After"]) >= 1
    assert refresh.status_code == 429  # one budget for sign-ups and refreshes
    async with service.app.state.db.begin() as tx:
        assert (await tx.execute(text("SELECT count(*) FROM drivers"))).scalar_one() == 2
