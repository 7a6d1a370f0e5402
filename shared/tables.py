"""A service's SQLAlchemy metadata: one naming convention, plus the outbox and inbox tables."""

from __future__ import annotations

from sqlalchemy import MetaData

from shared.outbox import define_tables

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def service_metadata() -> MetaData:
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    define_tables(metadata)
    return metadata
