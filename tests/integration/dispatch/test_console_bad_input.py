"""Bad input to the operator console gets a clear 4xx problem and changes nothing (found by
`make fuzz`)."""

from __future__ import annotations

from tests.integration.dispatch.conftest import MALL, Dispatch


async def test_the_stream_of_an_unknown_mall_is_a_404_before_any_event(
    dispatch: Dispatch,
) -> None:
    # It used to start a 200 event stream and then break it off mid-chunk.
    resp = await dispatch.api.get(
        "/v1/console/malls/no-such-mall/stream", headers=dispatch.operator(), timeout=30
    )

    assert resp.status_code == 404
    assert resp.headers["content-type"] == "application/problem+json"
    assert "pilot malls" in resp.json()["detail"]


async def test_nul_characters_in_an_action_are_refused_and_nothing_is_logged(
    dispatch: Dispatch,
) -> None:
    paths = [
        (f"/v1/console/malls/{MALL.id}/pause", {"note": "fire\x00drill"}),
        (
            "/v1/console/shipments/7c1e4a92-5b3d-4f08-a6e1-2d9f0b8c7e15/cancel",
            {"reason": "dup\x00licate", "mall_id": MALL.id},
        ),
        (
            "/v1/console/drivers/a8f3c2d1-6e5b-4a79-8c0d-1e2f3a4b5c6d/offline",
            {"mall_id": f"{MALL.id}\x00"},
        ),
    ]

    answers = [
        await dispatch.api.post(path, json=body, headers=dispatch.operator())
        for path, body in paths
    ]
    logged = await dispatch.api.get(
        f"/v1/console/malls/{MALL.id}/actions", headers=dispatch.operator()
    )

    assert [a.status_code for a in answers] == [422, 422, 422]
    assert all("NUL" in a.text for a in answers)
    assert logged.json()["actions"] == []
