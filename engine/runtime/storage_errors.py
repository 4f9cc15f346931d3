"""The storage failures adapters answer for, named by what they mean to a request, so that the
web layer can map them to responses without knowing the database library."""
from __future__ import annotations

from sqlalchemy.exc import DataError as InputNotStorable  # NUL characters, numbers out of range
from sqlalchemy.exc import SQLAlchemyError as StorageError  # anything the database refused or lost

__all__ = ["InputNotStorable", "StorageError"]
