"""The storage layout: the only module that knows which path holds what.

::

    images/<id>/json                image JSON, as pushed
    images/<id>/ancestry            JSON list: <id>, parent, grandparent, ...
    images/<id>/_inprogress         present from PUT json until the checksum is verified
    images/<id>/_checksum           JSON list of the verified checksums
    images/<id>/layer               the layer, published by a verified PUT checksum
    images/<id>/_uploads/<u>        a complete upload waiting for its checksum
    images/<id>/_uploads/<u>.sum    its computed payload checksum (written after the blob)
    repositories/<ns>/<repo>/tag_<tag>        the image id the tag points at
    repositories/<ns>/<repo>/tag<tag>_json    push metadata (DR's tag json)
    repositories/<ns>/<repo>/_index_images    JSON list of {"id", "checksum"} (standalone index)

Layers live under ``images/`` only, so one pushed to many repositories is stored once.
Every argument is validated before it gets here (:mod:`wharf_registry.names`).
"""

from __future__ import annotations

IMAGES = "images"
REPOSITORIES = "repositories"
UPLOAD_SUM_SUFFIX = ".sum"


def image_dir(image_id: str) -> str:
    return f"{IMAGES}/{image_id}"


def image_json(image_id: str) -> str:
    return f"{IMAGES}/{image_id}/json"


def image_ancestry(image_id: str) -> str:
    return f"{IMAGES}/{image_id}/ancestry"


def image_mark(image_id: str) -> str:
    return f"{IMAGES}/{image_id}/_inprogress"


def image_checksum(image_id: str) -> str:
    return f"{IMAGES}/{image_id}/_checksum"


def image_layer(image_id: str) -> str:
    return f"{IMAGES}/{image_id}/layer"


def image_uploads(image_id: str) -> str:
    return f"{IMAGES}/{image_id}/_uploads"


def image_upload(image_id: str, upload_id: str) -> str:
    return f"{IMAGES}/{image_id}/_uploads/{upload_id}"


def image_upload_sum(image_id: str, upload_id: str) -> str:
    return f"{IMAGES}/{image_id}/_uploads/{upload_id}{UPLOAD_SUM_SUFFIX}"


def repository(namespace: str, repo: str) -> str:
    return f"{REPOSITORIES}/{namespace}/{repo}"


def tag(namespace: str, repo: str, tag: str) -> str:
    return f"{REPOSITORIES}/{namespace}/{repo}/tag_{tag}"


def tag_json(namespace: str, repo: str, tag: str) -> str:
    return f"{REPOSITORIES}/{namespace}/{repo}/tag{tag}_json"


def index_images(namespace: str, repo: str) -> str:
    return f"{REPOSITORIES}/{namespace}/{repo}/_index_images"
