"""shared/api.py: the one 401 every service answers with, and the app-state dependencies."""

from __future__ import annotations

from typing import Annotated

import httpx
from fastapi import Depends, FastAPI

from shared.api import API_KEY, BEARER_INVALID_TOKEN, Unauthorized, from_app_state
from shared.problems import install_problem_handlers


class Greeting:
    def __init__(self, text: str) -> None:
        self.text = text


get_greeting = from_app_state("greeting", Greeting)


def an_app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    app.state.greeting = Greeting("hello")

    @app.get("/greeting")
    async def greeting(greeting: Annotated[Greeting, Depends(get_greeting)]) -> str:
        return greeting.text

    @app.get("/bearer")
    async def bearer() -> None:
        raise Unauthorized("Send your token as 'Authorization: Bearer <token>'.")

    @app.get("/key")
    async def key() -> None:
        raise Unauthorized("Send your API key in the X-API-Key header.", challenge=API_KEY)

    @app.get("/expired")
    async def expired() -> None:
        raise Unauthorized(
            "The token expired; refresh it.", code="invalid_token", challenge=BEARER_INVALID_TOKEN
        )

    return app


async def get(path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=an_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.get(path)


async def test_a_dependency_answers_what_the_lifespan_put_in_app_state() -> None:
    response = await get("/greeting")

    assert response.json() == "hello"


async def test_a_401_is_a_problem_naming_its_scheme_and_what_to_send() -> None:
    response = await get("/bearer")

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == "Bearer"
    problem = response.json()
    assert (problem["title"], problem["code"]) == ("Unauthorized", "unauthorized")
    assert "Authorization: Bearer" in problem["detail"]


async def test_each_scheme_gets_its_own_challenge() -> None:
    key = await get("/key")
    expired = await get("/expired")

    assert key.headers["www-authenticate"] == "APIKey"
    assert expired.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert expired.json()["code"] == "invalid_token"


def test_no_challenge_means_no_header() -> None:
    assert Unauthorized("Send your key.", challenge=None).headers is None
