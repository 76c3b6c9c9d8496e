"""Alembic environment: the URL comes from the caller (``wharf_hub.db.migrate``), never a file."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

import wharf_hub.db.models  # noqa: F401 - registers every table on Base.metadata
from wharf_hub.db.base import Base
from wharf_hub.db.session import make_engine

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = make_engine(context.config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()
