from __future__ import annotations

from shared.tables import service_metadata

metadata = service_metadata()
