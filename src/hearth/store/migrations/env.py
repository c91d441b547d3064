"""Alembic's entry point for hearth's migrations.

``Database.migrate()`` passes its own connection in ``config.attributes["connection"]``; with
none, the URL comes from ``sqlalchemy.url`` or hearth's settings (``HEARTH_DATABASE_URL``).
Offline mode (``--sql``) renders the SQL for a DBA to review.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from hearth.store.tables import Base

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from hearth.config import Settings

    return Settings().resolved_database_url


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_offline() -> None:
    url = _url()
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=url.startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from hearth.store.db import Database

    database = Database(_url())
    try:
        with database.engine.begin() as own_connection:
            _run(own_connection)
    finally:
        database.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
