"""Column helpers every table module uses: timezone-aware datetimes, exact decimals, JSON lists."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field

from models.types import AwareDateTime, ExactDecimal


def aware(**kwargs: Any) -> Any:
    """A timezone-aware datetime column."""
    nullable = kwargs.pop("nullable", False)
    default_factory = kwargs.pop("default_factory", None)
    column: Column[Any] = Column(AwareDateTime(), nullable=nullable, index=kwargs.pop("index", False))
    if default_factory is not None:
        return Field(default_factory=default_factory, sa_column=column, **kwargs)
    return Field(default=None, sa_column=column, **kwargs)


def decimal(nullable: bool = False) -> Any:
    """An exact decimal column."""
    return Field(default=None, sa_column=Column(ExactDecimal(), nullable=nullable))


def json_list() -> Any:
    """A JSON list column."""
    return Field(default_factory=list, sa_column=Column(JSON, nullable=False))
