from __future__ import annotations

from driver_service.dev import create_drivers
from tests.integration.driver.conftest import Service


async def test_the_dev_command_creates_drivers_whose_tokens_work(service: Service) -> None:
    created = await create_drivers(service.settings, 3, "Demo driver")

    assert [d["name"] for d in created] == ["Demo driver 1", "Demo driver 2", "Demo driver 3"]
    for driver in created:
        me = await service.client.get(
            "/v1/drivers/me", headers={"Authorization": f"Bearer {driver['access_token']}"}
        )
        assert me.status_code == 200
        assert me.json()["id"] == driver["driver_id"]
