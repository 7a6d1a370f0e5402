"""Each service's Alembic history is one line: branches merged from parallel work that both add
a migration must be chained, or the service cannot migrate to "head" at start."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from shared.migrations import alembic_config

ROOT = Path(__file__).resolve().parents[3]
SERVICES = ("catalog_service", "order_service", "dispatch_service", "driver_service")


def _scripts(service: str) -> ScriptDirectory:
    location = ROOT / service / "store" / "migrations"
    return ScriptDirectory.from_config(alembic_config(location, "postgresql+asyncpg://unused"))


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_has_one_head_and_unique_revision_ids(service: str) -> None:
    files = sorted((ROOT / service / "store" / "migrations" / "versions").glob("*.py"))
    scripts = _scripts(service)

    revisions = list(scripts.walk_revisions())

    assert scripts.get_heads() == [revisions[0].revision]
    # Two files claiming one id load as one: the other's tables would never be created.
    assert len(revisions) == len(files), [f.name for f in files]
    assert revisions[-1].down_revision is None
