"""The checkout benchmark's carts: real offers of each mall from the catalog, and the wrk script
that checks them out with a new Idempotency-Key each."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass

import httpx
import orjson

from bench.harness import (
    BenchError,
)
from bench.load import (
    lua_list,
    lua_string,
)
from shared.malls import Mall, pilot_malls

OFFER_PAGES = 5


@dataclass(frozen=True)
class MallCarts:
    mall: Mall
    offer_ids: list[str]

    def address(self) -> dict[str, object]:
        return {
            "line1": "1420 Desert Willow Dr",
            "city": "Benchtown",
            "region": "NV",
            "postal_code": "89104",
            "lat": round(self.mall.lat + 0.01, 5),
            "lng": round(self.mall.lng + 0.01, 5),
        }


def checkout_script(malls: list[MallCarts], tokens: list[str], phase: str) -> str:
    """wrk script: a new Idempotency-Key and a random cart of one mall per request."""
    contact = {"name": "Bench Customer", "phone": "+17025550142"}
    mall_tables = ",\n".join(
        "{ rest = "
        + lua_string(
            '"address":'
            + orjson.dumps(m.address()).decode()
            + ',"contact":'
            + orjson.dumps(contact).decode()
        )
        + ", offers = "
        + lua_list(m.offer_ids)
        + " }"
        for m in malls
    )
    return f"""
counters = {{}}
local malls = {{ {mall_tables} }}
local tokens = {lua_list(tokens)}
local phase = {lua_string(phase)}
local next_thread = 1
local n = 0

function bench_setup(thread)
  thread:set("thread_id", next_thread)
  next_thread = next_thread + 1
end

function init(args)
  math.randomseed((thread_id or 1) * 7919 + os.time())
end

function request()
  n = n + 1
  local mall = malls[math.random(#malls)]
  local lines, used = {{}}, {{}}
  for i = 1, math.random(3) do
    local offer = mall.offers[math.random(#mall.offers)]
    if not used[offer] then
      used[offer] = true
      table.insert(lines, '{{"offer_id":"' .. offer .. '","quantity":1}}')
    end
  end
  local body = '{{"lines":[' .. table.concat(lines, ",") .. '],' .. mall.rest .. '}}'
  local headers = {{
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. tokens[math.random(#tokens)],
    ["Idempotency-Key"] = string.format("%s-%d-%d", phase, thread_id or 1, n),
  }}
  return wrk.format("POST", "/v1/checkout", headers, body)
end

function response(status, headers, body)
  local name = "status_" .. status
  if status == 201 then name = "placed" elseif status == 409 then name = "conflicts" end
  counters[name] = (counters[name] or 0) + 1
end
"""


async def collect_offers(catalog_url: str) -> list[MallCarts]:
    malls = []
    async with httpx.AsyncClient(base_url=catalog_url, timeout=30) as http:
        for mall in pilot_malls():
            offer_ids: list[str] = []
            cursor = None
            for _ in range(OFFER_PAGES):
                params: dict[str, str | float | int] = {
                    "lat": mall.lat + 0.01,
                    "lng": mall.lng + 0.01,
                    "limit": 100,
                }
                if cursor:
                    params["cursor"] = cursor
                response = await http.get("/v1/catalog/same-day", params=params)
                response.raise_for_status()
                page = response.json()
                offer_ids += [item["offer_id"] for item in page["items"]]
                cursor = page["next_cursor"]
                if not cursor:
                    break
            if not offer_ids:
                raise BenchError(f"the catalog offers nothing near {mall.id}: is it open?")
            malls.append(MallCarts(mall, offer_ids))
    return malls


async def first_checkout(order_url: str, token: str, carts: MallCarts, within: float) -> None:
    """Waits until the order service places an order (it learns the stores from Kafka first)."""
    body = {
        "lines": [{"offer_id": carts.offer_ids[0], "quantity": 1}],
        "address": carts.address(),
        "contact": {"name": "Bench Customer", "phone": "+17025550142"},
    }
    deadline = time.monotonic() + within
    last = ""
    async with httpx.AsyncClient(base_url=order_url, timeout=30) as http:
        while time.monotonic() < deadline:
            response = await http.post(
                "/v1/checkout",
                json=body,
                headers={"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())},
            )
            if response.status_code == 201:
                return
            last = f"{response.status_code} {response.text[:300]}"
            await asyncio.sleep(0.5)
    raise BenchError(f"no checkout succeeded within {within:.0f} s; the last answer: {last}")
