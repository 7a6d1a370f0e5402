"""The console page itself (`/console`): static files, and the map library from node_modules."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from dispatch_service.settings import DispatchSettings
from shared.problems import ProblemError

PAGE = Path(__file__).resolve().parent.parent / "console"


def leaflet_dir(settings: DispatchSettings) -> Path:
    return settings.console_assets_dir / "leaflet" / "dist"


def install_console_page(app: FastAPI, settings: DispatchSettings) -> None:
    library = leaflet_dir(settings)
    router = APIRouter(include_in_schema=False)

    @router.get("/console")
    async def console_page() -> FileResponse:
        if not (library / "leaflet.js").is_file():
            raise ProblemError(
                503,
                "console_assets_missing",
                f"The console's map library is missing from {library}: run `make "
                "console-assets` (npm ci) in the checkout, or set DISPATCH_CONSOLE_ASSETS_DIR.",
            )
        # The page is tiny and changes with the code: always the current one.
        return FileResponse(PAGE / "index.html", headers={"Cache-Control": "no-cache"})

    app.include_router(router)
    app.mount("/console/assets", StaticFiles(directory=PAGE), name="console-assets")
    # Served from the project, never a CDN: the console works with no internet.
    app.mount(
        "/console/vendor/leaflet",
        StaticFiles(directory=library, check_dir=False),
        name="console-leaflet",
    )
