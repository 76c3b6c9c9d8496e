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

The distribution spec (v2) beside it, on the same storage::

    blobs/sha256/<hh>/<hex>/data    a blob (layer, config, manifest), stored once for every repository
    blobs/sha256/<hh>/<hex>/link    instead of data: the storage path of a v1 layer holding these bytes
    blobs/sha256/<hh>/<hex>/v1      the v1 image id synthesised from this manifest (its top image)
    images/<id>/_blob               {"digest", "size"} of a v1 image's layer, once it was computed
    uploads/<uuid>/info             {"repository", "started"}: an upload session
    uploads/<uuid>/p<offset>        the chunks received, each an object named by where it starts
    repositories/<ns>/<repo>/tag_<tag>              a v1 image id or a v2 manifest digest (one namespace)
    repositories/<ns>/<repo>/_blobs/<hex>           the repository holds the blob (pushed, mounted)
    repositories/<ns>/<repo>/_manifests/<hex>       the repository holds the manifest: {"mediaType"}
    repositories/<ns>/<repo>/_referrers/<subject>/<hex>   a manifest whose subject is <subject>

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


# ---- v2 -----------------------------------------------------------------------------------

BLOBS = "blobs"
UPLOADS = "uploads"
UPLOAD_INFO = "info"
UPLOAD_PART_PREFIX = "p"
DIGEST_PREFIX = "sha256:"


def blob_dir(hex_digest: str) -> str:
    return f"{BLOBS}/sha256/{hex_digest[:2]}/{hex_digest}"


def blob_data(hex_digest: str) -> str:
    return f"{blob_dir(hex_digest)}/data"


def blob_link(hex_digest: str) -> str:
    return f"{blob_dir(hex_digest)}/link"


def manifest_v1(hex_digest: str) -> str:
    return f"{blob_dir(hex_digest)}/v1"


def image_blob(image_id: str) -> str:
    return f"{IMAGES}/{image_id}/_blob"


def upload_dir(upload_id: str) -> str:
    return f"{UPLOADS}/{upload_id}"


def upload_info(upload_id: str) -> str:
    return f"{UPLOADS}/{upload_id}/{UPLOAD_INFO}"


def upload_part(upload_id: str, offset: int) -> str:
    return f"{UPLOADS}/{upload_id}/{UPLOAD_PART_PREFIX}{offset:020d}"


def repository_blob(namespace: str, repo: str, hex_digest: str) -> str:
    return f"{REPOSITORIES}/{namespace}/{repo}/_blobs/{hex_digest}"


def repository_manifests(namespace: str, repo: str) -> str:
    return f"{REPOSITORIES}/{namespace}/{repo}/_manifests"


def repository_manifest(namespace: str, repo: str, hex_digest: str) -> str:
    return f"{REPOSITORIES}/{namespace}/{repo}/_manifests/{hex_digest}"


def referrers(namespace: str, repo: str, subject_hex: str) -> str:
    return f"{REPOSITORIES}/{namespace}/{repo}/_referrers/{subject_hex}"


def referrer(namespace: str, repo: str, subject_hex: str, hex_digest: str) -> str:
    return f"{REPOSITORIES}/{namespace}/{repo}/_referrers/{subject_hex}/{hex_digest}"
