"""Typed access SQLModel leaves loose: a stored row's id (`int | None` until flushed), a model's Table."""

from __future__ import annotations

from typing import Protocol, TypeVar

from sqlalchemy import Table
from sqlalchemy.orm import class_mapper
from sqlmodel import SQLModel

T = TypeVar("T")


class _Stored(Protocol):
    @property
    def id(self) -> int | None: ...


def row_id(row: _Stored) -> int:
    """ROW's primary key; a row not yet flushed has none, and using that None as a key would be a bug."""
    if row.id is None:
        raise ValueError(f"{type(row).__name__} has no id yet: add and flush it first")
    return row.id


def known(value: T | None, what: str) -> T:
    """VALUE where the query or the data guarantees one (a NOT NULL filter, a checked row); None is a bug."""
    if value is None:
        raise ValueError(f"{what} is missing")
    return value


def table_of(model: type[SQLModel]) -> Table:
    """MODEL's Table: SQLModel sets `__table__` on a table class but does not declare it."""
    table = class_mapper(model).local_table
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} is not a table model")
    return table
