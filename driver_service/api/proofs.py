"""Proof-of-delivery photos at signed links: the order service makes the links (for the
storefront's webhooks and the shopper's tracking page); a link works until its expiry."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from driver_service import usecases
from driver_service.api.deps import SettingsDep
from shared import clock, proof_links
from shared.api import DbDep
from shared.problems import PROBLEM, NotFound, ProblemError

router = APIRouter(prefix=proof_links.PATH, tags=["proofs"])

_SHA256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


@router.get(
    "/{sha256}",
    summary="A proof-of-delivery photo, at a signed link that expires",
    response_class=Response,
    responses={
        200: {"content": {"image/jpeg": {"example": "(the photo's bytes)"}}},
        403: PROBLEM,
        404: PROBLEM,
        422: PROBLEM,
    },
)
async def proof_photo(
    sha256: Annotated[str, Path(pattern=r"^[0-9a-f]{64}$", examples=[_SHA256])],
    expires: Annotated[int, Query(ge=0, le=2**40, examples=[1795840272])],
    signature: Annotated[str, Query(pattern=r"^[0-9a-f]{64}$", examples=["6b3a55e0" * 8])],
    db: DbDep,
    settings: SettingsDep,
) -> Response:
    secret = settings.proof_url_secret.get_secret_value()
    if not proof_links.is_valid(secret, sha256, expires, signature, clock.now()):
        raise ProblemError(
            403,
            "link_expired",
            "This photo link is not valid or has expired; fetch the order again for a new one.",
        )
    async with db.begin() as tx:
        found = await usecases.proof_photo(tx, sha256)
    if found is None:
        raise NotFound("photo")
    content_type, content = found
    return Response(
        content,
        media_type=content_type,
        headers={"Cache-Control": "private, max-age=300", "X-Content-Type-Options": "nosniff"},
    )
