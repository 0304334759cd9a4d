"""Alembic migrations, installed as the package models.migrations (script_location models.migrations:)."""
