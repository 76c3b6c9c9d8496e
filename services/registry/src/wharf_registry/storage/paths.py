"""The storage layout: the only module that knows which path holds what.

::

    images/<id>/json                image JSON, as pushed
    images/<id>/ancestry            JSON list: <id>, parent, grandparent, ...
    images/<id>/_inprogress         present from PUT json until the checksum is verified
    images/<id>/_checksum           JSON list of the verified checksums
    images/<id>/layer               the layer, published by a verified PUT checksum
    images/<id>/_uploads/<u>        a complete upload waiting for its checksum
    images/<id>/_uploads/<u>.sum    its computed payload checksum (written after the blob)
    images/<id>/_claims/<ns>/<repo>         that repository sent the image's exact JSON and
                                    may prove the layer by uploading it (index mode)
    repositories/<ns>/<repo>/tag_<tag>        the image id the tag points at
    repositories/<ns>/<repo>/_tag_json/<tag>  push metadata (DR's tag json)
    repositories/<ns>/<repo>/_index_images    JSON list of {"id", "checksum"} (standalone index)
    repositories/<ns>/<repo>/_images/<id>     the image is in the repository (index mode):
                                              pushed there, or its content proven there
    namespaces/<ns>/_usage          bytes of layers published into the namespace (quota)

Layers live under ``images/`` only, so one pushed to many repositories is stored once.
Every argument is validated before it gets here (:mod:`wharf_registry.names`).

Older registries kept a tag's metadata in ``tag<tag>_json`` beside the tag files, where the
metadata of tag ``_v1`` (``tag_v1_json``) is the tag file of tag ``v1_json``: those files are
still read (:func:`legacy_tag_json`), told apart from tag files by their content, never written.
"""

from __future__ import annotations

IMAGES = "images"
REPOSITORIES = "repositories"
NAMESPACES = "namespaces"
TAG_PREFIX = "tag_"
INDEX_IMAGES = "_index_images"
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


def image_claim(image_id: str, namespace: str, repo: str) -> str:
    return f"{IMAGES}/{image_id}/_claims/{namespace}/{repo}"


def repository(namespace: str, repo: str) -> str:
    return f"{REPOSITORIES}/{namespace}/{repo}"


def tag(namespace: str, repo: str, tag: str) -> str:
    return f"{REPOSITORIES}/{namespace}/{repo}/{TAG_PREFIX}{tag}"


def tag_json(namespace: str, repo: str, tag: str) -> str:
    return f"{REPOSITORIES}/{namespace}/{repo}/_tag_json/{tag}"


def legacy_tag_json(namespace: str, repo: str, tag: str) -> str:
    """Where older registries kept a tag's metadata (may be another tag's file: see above)."""
    return f"{REPOSITORIES}/{namespace}/{repo}/tag{tag}_json"


def repository_images(namespace: str, repo: str) -> str:
    return f"{REPOSITORIES}/{namespace}/{repo}/_images"


def repository_image(namespace: str, repo: str, image_id: str) -> str:
    return f"{REPOSITORIES}/{namespace}/{repo}/_images/{image_id}"


def index_images(namespace: str, repo: str) -> str:
    return f"{REPOSITORIES}/{namespace}/{repo}/{INDEX_IMAGES}"


def namespace_usage(namespace: str) -> str:
    return f"{NAMESPACES}/{namespace}/_usage"
