"""The distribution spec's errors, each of a kind from :mod:`wharf_common.errors`.

Every error carries the spec's ``code`` (``BLOB_UNKNOWN``, ``DIGEST_INVALID``, ...), which
``api/v2/errors.py`` renders as ``{"errors": [{"code", "message", "detail"}]}``. Errors of a
kind that are not listed here (a v1 component's, or a storage error) get the code of their kind.
"""

from __future__ import annotations

from typing import Any, ClassVar

from wharf_common.errors import Forbidden, InvalidArgument, NotFound, Unauthorized, WharfError


class V2Error(WharfError):
    code: ClassVar[str] = "UNKNOWN"

    def __init__(self, message: str, detail: Any = None) -> None:
        super().__init__(message)
        self.detail = detail


class BlobUnknown(V2Error, NotFound):
    code = "BLOB_UNKNOWN"

    def __init__(self, digest: str) -> None:
        super().__init__("blob unknown to registry", {"digest": digest})


class BlobUploadUnknown(V2Error, NotFound):
    code = "BLOB_UPLOAD_UNKNOWN"

    def __init__(self, upload_id: str) -> None:
        super().__init__("blob upload unknown to registry", {"uuid": upload_id[:80]})


class BlobUploadInvalid(V2Error, InvalidArgument):
    code = "BLOB_UPLOAD_INVALID"


class RangeInvalid(V2Error, InvalidArgument):
    """A chunk that does not start where the upload ends (a gap or an overlap)."""

    code = "BLOB_UPLOAD_INVALID"
    status = 416

    def __init__(self, size: int, start: int) -> None:
        super().__init__(
            f"chunk starts at {start}, the upload holds {size} bytes: chunks must follow each other",
            {"size": size, "start": start},
        )
        self.size = size


class DigestInvalid(V2Error, InvalidArgument):
    code = "DIGEST_INVALID"

    def __init__(self, message: str = "provided digest did not match uploaded content", detail: Any = None):
        super().__init__(message, detail)


class SizeInvalid(V2Error, InvalidArgument):
    code = "SIZE_INVALID"


class TooLarge(V2Error, InvalidArgument):
    code = "SIZE_INVALID"
    status = 413

    def __init__(self, what: str, limit: int) -> None:
        super().__init__(f"{what} exceeds the limit of {limit} bytes", {"limit": limit})


class ManifestUnknown(V2Error, NotFound):
    code = "MANIFEST_UNKNOWN"

    def __init__(self, reference: str) -> None:
        super().__init__("manifest unknown", {"reference": reference[:140]})


class ManifestInvalid(V2Error, InvalidArgument):
    code = "MANIFEST_INVALID"


class ManifestBlobUnknown(V2Error, InvalidArgument):
    code = "MANIFEST_BLOB_UNKNOWN"

    def __init__(self, digest: str) -> None:
        super().__init__("manifest references a blob unknown to the repository", {"digest": digest})


class NameInvalid(V2Error, InvalidArgument):
    code = "NAME_INVALID"


class NameUnknown(V2Error, NotFound):
    code = "NAME_UNKNOWN"

    def __init__(self, name: str) -> None:
        super().__init__("repository name not known to registry", {"name": name[:256]})


class TagInvalid(V2Error, InvalidArgument):
    code = "TAG_INVALID"


class Unsupported(V2Error, InvalidArgument):
    code = "UNSUPPORTED"
    status = 415


class PaginationInvalid(V2Error, InvalidArgument):
    code = "PAGINATION_NUMBER_INVALID"


class ChallengeRequired(V2Error, Unauthorized):
    """401 with ``WWW-Authenticate: <challenge>`` (Basic in standalone mode, Bearer in index mode)."""

    code = "UNAUTHORIZED"

    def __init__(self, challenge: str, message: str = "authentication required", detail: Any = None):
        super().__init__(message, detail)
        self.challenge = challenge


class Denied(V2Error, Forbidden):
    code = "DENIED"


KIND_CODES: dict[int, str] = {
    400: "UNSUPPORTED",
    401: "UNAUTHORIZED",
    403: "DENIED",
    404: "NAME_UNKNOWN",
    409: "UNSUPPORTED",
    413: "SIZE_INVALID",
    416: "BLOB_UPLOAD_INVALID",
    429: "TOOMANYREQUESTS",
}
"""The code of an error that has none of its own, by status."""


def code_of(exc: WharfError) -> str:
    if isinstance(exc, V2Error):
        return exc.code
    return KIND_CODES.get(exc.status, "UNKNOWN")


def detail_of(exc: WharfError) -> Any:
    return exc.detail if isinstance(exc, V2Error) else None
