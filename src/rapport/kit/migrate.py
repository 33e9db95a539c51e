"""Alembic, driven from code: ``rapport migrate``, ``rapport serve`` and the tests."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str | None = None, connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Apply migrations to ``url`` (opens its own event loop: call from sync code)."""
    command.upgrade(alembic_config(url), revision)


def upgrade_on(connection: Connection, revision: str = "head") -> None:
    """Apply migrations on an open sync connection (``AsyncConnection.run_sync``)."""
    command.upgrade(alembic_config(connection=connection), revision)
