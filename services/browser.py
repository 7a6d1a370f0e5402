"""Debian's Chromium, driven by Playwright, for the console's browser test and benchmark.

Playwright's own browser download cannot work here: `make browser` installs Debian's
`chromium` with apt-get, and this module launches that binary with a fresh profile. Where
there is none, `BrowserMissing` says so plainly and what to run.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.async_api import Page

CHROMIUM = Path(os.environ.get("MTH_CHROMIUM", "/usr/bin/chromium"))
ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


class BrowserMissing(RuntimeError):
    """No browser to drive; the message says what to install."""


def missing_reason() -> str | None:
    if importlib.util.find_spec("playwright") is None:
        return "Playwright for Python is not installed: run `make venv` (the dev extras)."
    if not CHROMIUM.is_file() or not os.access(CHROMIUM, os.X_OK):
        return (
            f"no Chromium at {CHROMIUM}: run `make browser` (apt-get install chromium, as root "
            "or with sudo), or point MTH_CHROMIUM at a Chromium binary"
        )
    return None


@contextlib.asynccontextmanager
async def chromium_page(width: int = 1600, height: int = 1000) -> AsyncIterator[Page]:
    """A page of a headless Chromium with a profile of its own, gone afterwards."""
    reason = missing_reason()
    if reason is not None:
        raise BrowserMissing(reason)
    from playwright.async_api import async_playwright

    with tempfile.TemporaryDirectory(prefix="mth-chromium-") as profile:
        async with async_playwright() as playwright:
            context = await playwright.chromium.launch_persistent_context(
                profile,
                executable_path=str(CHROMIUM),
                headless=True,
                args=list(ARGS),
                viewport={"width": width, "height": height},
            )
            try:
                page = context.pages[0] if context.pages else await context.new_page()
                yield page
            finally:
                await context.close()
