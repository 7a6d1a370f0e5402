from __future__ import annotations

import httpx

from services.suite import Suite
from tests.e2e.conftest import internal_auth


async def test_the_four_services_run_as_separate_processes_and_are_ready(
    suite: Suite, http: httpx.AsyncClient
) -> None:
    pids = {name: process.pid for name, process in suite.processes.items()}
    assert len(set(pids.values())) == 4
    for name, url in suite.urls.items():
        ready = await http.get(f"{url}/readyz")
        assert ready.status_code == 200, (name, ready.text)


async def test_the_catalog_names_stores_only_to_holders_of_the_suite_token(
    suite: Suite, http: httpx.AsyncClient
) -> None:
    stores = f"{suite.urls['catalog']}/v1/stores"

    refused = await http.get(stores)
    allowed = await http.get(stores, headers=internal_auth(suite))

    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"
    assert allowed.status_code == 200
