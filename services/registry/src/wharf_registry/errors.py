"""The registry's domain errors, each of a kind from :mod:`wharf_common.errors`.

Messages keep docker-registry's wording (``docker_registry/images.py``, ``tags.py``), since
clients match on some of them (``Image already exists`` makes the engine skip an image).
"""

from __future__ import annotations

from wharf_common.errors import Conflict, Forbidden, InvalidArgument, NotFound


class ImageNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("Image not found")


class ImageAlreadyExists(Conflict):
    def __init__(self) -> None:
        super().__init__("Image already exists")


class ImageInProgress(InvalidArgument):
    def __init__(self) -> None:
        super().__init__("Image is being uploaded, retry later")


class MissingParent(InvalidArgument):
    def __init__(self) -> None:
        super().__init__("Image depends on a non existing parent")


class ChecksumMismatch(InvalidArgument):
    def __init__(self) -> None:
        super().__init__("Checksum mismatch")


class MissingChecksum(InvalidArgument):
    status = 412  # DR answers a PUT checksum without X-Docker-Checksum-Payload with 412

    def __init__(self) -> None:
        super().__init__("Missing Image's checksum")


class ChecksumNotSettable(Conflict):
    def __init__(self) -> None:
        super().__init__("Cannot set this image checksum")


class RepositoryNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("Repository not found")


class TagNotFound(NotFound):
    def __init__(self, tag: str | None = None) -> None:
        super().__init__(f"Tag not found: {tag}" if tag else "Tag not found")


class InvalidData(InvalidArgument):
    def __init__(self, message: str = "Invalid data") -> None:
        super().__init__(message)


class ImageNotInRepository(Forbidden):
    """Index mode: the image (or an ancestor) was neither pushed to this repository nor proven there."""

    def __init__(self, image_id: str) -> None:
        super().__init__(
            f"Image {image_id} is not in this repository: push it (its layer too) with its token"
        )


class ImageContentDiffers(Conflict):
    """The id is taken by an image whose JSON or layer is not what the client sent."""

    def __init__(self) -> None:
        super().__init__("Image already exists with different content")


class ImageBusy(Conflict):
    """The image is being uploaded to another repository."""

    def __init__(self) -> None:
        super().__init__("Image is being uploaded to another repository, retry later")


class UploadTooLarge(InvalidArgument):
    status = 413

    def __init__(self, what: str, limit: int) -> None:
        super().__init__(f"{what} exceeds the limit of {limit} bytes")


class QuotaExceeded(InvalidArgument):
    status = 413

    def __init__(self, namespace: str, quota: int) -> None:
        super().__init__(f"Upload exceeds the quota of namespace {namespace} ({quota} bytes)")
