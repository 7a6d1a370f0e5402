"""RFC 9457 problem responses for every 4xx and 5xx.

Customer-facing problems never name a store, a mall or an internal id; each `detail` says what
to do next. Validation errors list fields and messages, never echo the input.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.logging import trace_id_var
from shared.retry import is_busy

PROBLEM_MEDIA_TYPE = "application/problem+json"
# A lock or pool wait given up on clears within moments: the client's retry waits this long.
BUSY_RETRY_AFTER_SECONDS = 1


class FieldError(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    code: str
    trace_id: str | None = None
    errors: list[FieldError] | None = None


PROBLEM: dict[str, Any] = {"model": Problem, "content": {PROBLEM_MEDIA_TYPE: {}}}


class ProblemError(Exception):
    """Raise anywhere in a request to answer with a problem document."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        title: str | None = None,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.title = title or HTTPStatus(status).phrase
        self.errors = errors
        self.headers = headers


class NotFound(ProblemError):
    def __init__(self, thing: str, detail: str | None = None) -> None:
        super().__init__(
            404, "not_found", detail or f"No such {thing}; check the id.", title="Not found"
        )


class Conflict(ProblemError):
    def __init__(self, code: str, detail: str, title: str | None = None) -> None:
        super().__init__(409, code, detail, title=title)


class Unprocessable(ProblemError):
    def __init__(self, detail: str, errors: list[FieldError], code: str = "invalid") -> None:
        super().__init__(422, code, detail, errors=errors, title="Unprocessable content")


def problem_response(request: Request, error: ProblemError) -> JSONResponse:
    body = Problem(
        type=f"urn:mall-to-home:problem:{error.code.replace('_', '-')}",
        title=error.title,
        status=error.status,
        detail=error.detail,
        instance=request.url.path,
        code=error.code,
        trace_id=trace_id_var.get() or None,
        errors=error.errors,
    )
    return JSONResponse(
        body.model_dump(exclude_none=True),
        status_code=error.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=error.headers,
    )


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(ProblemError)
    async def _problem(request: Request, error: ProblemError) -> JSONResponse:
        return problem_response(request, error)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, error: RequestValidationError) -> JSONResponse:
        errors = [
            FieldError(field=_field_name(tuple(item["loc"])), message=str(item["msg"]))
            for item in error.errors()
        ]
        named = ", ".join(sorted({e.field for e in errors}))
        return problem_response(
            request,
            Unprocessable(f"Fix these fields and retry: {named}.", errors, code="invalid_request"),
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> JSONResponse:
        status = error.status_code
        # 413 keeps one code whether the limit met the declared or the streamed length.
        code = (
            "payload_too_large"
            if status == 413
            else HTTPStatus(status).phrase.lower().replace(" ", "_")
        )
        detail = (
            "No such resource; check the path."
            if status == 404
            else "The body cannot be parsed: send UTF-8 JSON (or the form the route documents)."
            if status == 400 and error.detail == "There was an error parsing the body"
            else str(error.detail)
            if isinstance(error.detail, str)
            else HTTPStatus(status).description
        )
        return problem_response(
            request, ProblemError(status, code, detail, headers=dict(error.headers or {}))
        )

    # Registered for the database's errors rather than for Exception: a handler of Exception
    # answers and then re-raises, as an unexpected error; a busy database is expected.
    @app.exception_handler(sqlalchemy.exc.DBAPIError)
    @app.exception_handler(sqlalchemy.exc.TimeoutError)
    async def _busy(request: Request, error: Exception) -> JSONResponse:
        if not is_busy(error):
            raise error
        return problem_response(
            request,
            ProblemError(
                503,
                "busy",
                "We are too busy to finish this request right now and changed nothing; "
                f"retry in {BUSY_RETRY_AFTER_SECONDS} s (with the same Idempotency-Key).",
                headers={"Retry-After": str(BUSY_RETRY_AFTER_SECONDS)},
            ),
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> JSONResponse:
        return problem_response(
            request,
            ProblemError(500, "internal_error", "Something went wrong on our side; retry later."),
        )
