"""The hub's SQL layer: models (one module per aggregate), the engine and sessions."""

from .base import Base
from .session import Database

__all__ = ["Base", "Database"]
