"""The invariant over the real app and database: no customer response names a store or mall."""

from __future__ import annotations

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.malls import pilot_malls
from tests.integration.catalog.conftest import Catalog

CUSTOMER_PATHS = ("/v1/catalog/same-day",)


def identifiers(directory: dict[str, list[dict[str, object]]]) -> set[str]:
    found: set[str] = set()
    for mall in directory["malls"]:
        found |= {str(mall["id"]), str(mall["name"]), str(mall["address"])}
    for store in directory["stores"]:
        found |= {
            str(store[field])
            for field in ("id", "name", "address", "phone", "retailer_id", "retailer_name")
        }
    return {value.casefold() for value in found}


def leaks(resp: httpx.Response, secrets: set[str]) -> list[str]:
    raw = resp.content.decode().casefold()
    headers = "\n".join(f"{k}: {v}" for k, v in resp.headers.items()).casefold()
    return sorted(s for s in secrets if s in raw or s in headers)


near_a_mall = st.sampled_from(pilot_malls()).flatmap(
    lambda mall: st.fixed_dictionaries(
        {
            "lat": st.floats(mall.lat - 0.3, mall.lat + 0.3),
            "lng": st.floats(mall.lng - 0.3, mall.lng + 0.3),
        }
    )
)
anywhere = st.fixed_dictionaries(
    {"lat": st.floats(-95, 95, allow_nan=False), "lng": st.floats(-185, 185, allow_nan=False)}
)
queries = st.tuples(
    st.one_of(near_a_mall, anywhere),
    st.fixed_dictionaries(
        {},
        optional={
            "q": st.sampled_from(["shirt", "black", "aurelio", "zzz", "harbor", "fashion"]),
            "category": st.sampled_from(["apparel", "shoes", "home", "toys"]),
            "limit": st.integers(0, 101),
            "cursor": st.text(max_size=20),
        },
    ),
)


@settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(query=queries)
async def test_no_customer_response_names_a_store_or_mall(
    catalog: Catalog, query: tuple[dict[str, float], dict[str, str | int]]
) -> None:
    directory = (await catalog.api.get("/v1/stores", headers=catalog.internal)).json()
    secrets = identifiers(directory)
    point, options = query
    params: dict[str, str | float] = {**point, **options}

    first = await catalog.api.get("/v1/catalog/same-day", params=params)
    responses = [first]
    if first.status_code == 200 and first.json()["next_cursor"]:
        params["cursor"] = first.json()["next_cursor"]
        responses.append(await catalog.api.get("/v1/catalog/same-day", params=params))

    for resp in responses:
        assert resp.status_code in {200, 400, 422}
        assert leaks(resp, secrets) == []


async def test_docs_and_error_bodies_name_no_store_or_mall(catalog: Catalog) -> None:
    secrets = identifiers((await catalog.api.get("/v1/stores", headers=catalog.internal)).json())
    assert len(secrets) > 50

    responses = [
        await catalog.api.get("/openapi.json"),
        await catalog.api.get("/docs"),
        await catalog.api.get("/v1/catalog/same-day", params={"lat": 100, "lng": 0}),
        await catalog.api.get("/v1/catalog/same-day", params={"lat": 36.12}),
        await catalog.api.get(
            "/v1/catalog/same-day", params={"lat": 36.12, "lng": -115.17, "cursor": "x"}
        ),
        await catalog.api.get("/v1/catalog/nothing-here"),
    ]

    assert [r.status_code for r in responses] == [200, 200, 422, 422, 400, 404]
    for resp in responses:
        assert leaks(resp, secrets) == []
