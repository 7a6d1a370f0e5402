"""Odd or hostile input to the driver API gets a 4xx problem and changes nothing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx
import jwt
import pytest
from sqlalchemy import text

from tests.integration.driver.conftest import Service, register


async def count(service: Service, table: str) -> int:
    async with service.app.state.db.begin() as tx:
        return int((await tx.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())


@pytest.mark.parametrize("day", ["9999-12-31", "9999-12-28", "0001-01-01"])
async def test_earnings_of_a_day_at_the_end_of_the_calendar_is_a_422(
    api: httpx.AsyncClient, day: str
) -> None:
    driver = await register(api)

    for period in ("day", "week"):
        resp = await api.get(
            "/v1/drivers/me/earnings", params={"period": period, "day": day}, headers=driver.headers
        )

        assert resp.status_code == 422, resp.text
        assert resp.headers["content-type"] == "application/problem+json"
        assert [e["field"] for e in resp.json()["errors"]] == ["day"]


@pytest.mark.parametrize(
    "starts_at", ["9999-12-31T20:00:00+00:00", "9999-12-31T23:00:00-12:00", "2999-01-01T10:00:00Z"]
)
async def test_a_block_far_in_the_future_is_a_422(
    service: Service, api: httpx.AsyncClient, starts_at: str
) -> None:
    driver = await register(api)

    resp = await api.post(
        "/v1/drivers/me/blocks",
        json={"mall_id": "fashion-show-las-vegas", "starts_at": starts_at, "hours": 3},
        headers=driver.headers,
    )

    assert resp.status_code == 422, resp.text
    assert [e["field"] for e in resp.json()["errors"]] == ["starts_at"]
    assert await count(service, "blocks") == 0


async def test_nul_characters_never_reach_the_database(
    service: Service, api: httpx.AsyncClient
) -> None:
    resp = await api.post(
        "/v1/drivers", json={"name": "Ana\x00", "phone": "+17025550177", "vehicle_type": "car"}
    )

    assert resp.status_code == 422, resp.text
    assert [e["field"] for e in resp.json()["errors"]] == ["name"]
    assert await count(service, "drivers") == 0


@pytest.mark.parametrize("exp", [10**20, 2**63, 1e300, "soon", None])
async def test_a_signed_token_with_an_absurd_exp_is_a_401(service: Service, exp: object) -> None:
    claims = {
        "sub": str(uuid.uuid4()),
        "typ": "access",
        "jti": str(uuid.uuid4()),
        "iat": int(datetime.now(UTC).timestamp()),
        "exp": exp,
    }
    token = jwt.encode(claims, service.settings.jwt_secret, algorithm="HS256")

    for path in ("/v1/drivers/me", "/v1/drivers/me/offers"):
        resp = await service.client.get(path, headers={"Authorization": f"Bearer {token}"})

        assert resp.status_code == 401, resp.text
        assert resp.headers["content-type"] == "application/problem+json"
