"""Storage drivers behind one Protocol, chosen from an explicit table by validated settings."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field

from .base import PathNotFound, StorageDriver
from .filesystem import FilesystemDriver, FilesystemStorageSettings
from .s3 import S3Driver, S3StorageSettings

StorageSettings = Annotated[FilesystemStorageSettings | S3StorageSettings, Field(discriminator="driver")]


def build_driver(settings: FilesystemStorageSettings | S3StorageSettings, data_root: Path) -> StorageDriver:
    """The driver ``settings`` names; the filesystem root defaults to ``data_root``."""
    match settings:
        case FilesystemStorageSettings():
            return FilesystemDriver(settings.root or data_root)
        case S3StorageSettings():
            return S3Driver(settings)


__all__ = [
    "FilesystemDriver",
    "FilesystemStorageSettings",
    "PathNotFound",
    "S3Driver",
    "S3StorageSettings",
    "StorageDriver",
    "StorageSettings",
    "build_driver",
]
