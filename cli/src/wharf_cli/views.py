"""Template contexts for list commands: the placeholders docker's ``ps`` and ``images`` formats offer."""

from __future__ import annotations

import time

from wharf_common.humanize import human_size

from .humanize import ellipsis, go_quote, time_ago, truncate_id

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see wharf_client.lean)
if TYPE_CHECKING:
    from typing import Any

PS_TITLES = {
    "ID": "CONTAINER ID",
    "Image": "IMAGE",
    "Command": "COMMAND",
    "CreatedAt": "CREATED AT",
    "RunningFor": "CREATED",
    "Ports": "PORTS",
    "State": "STATE",
    "Status": "STATUS",
    "Size": "SIZE",
    "Names": "NAMES",
    "Labels": "LABELS",
    "Label": "LABEL",
    "Mounts": "MOUNTS",
    "Networks": "NETWORKS",
    "LocalVolumes": "LOCAL VOLUMES",
}
PS_TABLE = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"

IMAGE_TITLES = {
    "Repository": "REPOSITORY",
    "Tag": "TAG",
    "ID": "IMAGE ID",
    "Digest": "DIGEST",
    "CreatedSince": "CREATED",
    "CreatedAt": "CREATED AT",
    "Size": "SIZE",
    "Containers": "CONTAINERS",
    "SharedSize": "SHARED SIZE",
    "UniqueSize": "UNIQUE SIZE",
    "VirtualSize": "VIRTUAL SIZE",
}
IMAGES_TABLE = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"


def go_time(timestamp: float) -> str:
    """Go's ``time.Time.String()`` in local time: ``2024-05-01 10:00:00 +0200 CEST``."""
    from datetime import datetime  # only --format with .CreatedAt pays for datetime

    moment = datetime.fromtimestamp(timestamp).astimezone()
    return moment.strftime("%Y-%m-%d %H:%M:%S %z ") + (moment.tzname() or "")


def format_ports(ports: list[dict[str, Any]] | None) -> str:
    """``0.0.0.0:8080->80/tcp, 443/tcp`` (docker's DisplayablePorts without range folding)."""
    shown: list[str] = []
    for port in sorted(ports or [], key=lambda p: (p.get("PrivatePort", 0), p.get("PublicPort", 0))):
        private = f"{port.get('PrivatePort', '')}/{port.get('Type', 'tcp')}"
        public = port.get("PublicPort")
        if public:
            ip = port.get("IP") or "0.0.0.0"
            host = f"[{ip}]" if ":" in ip else ip
            shown.append(f"{host}:{public}->{private}")
        else:
            shown.append(private)
    return ", ".join(dict.fromkeys(shown))


class ContainerView:
    """One ``GET /containers/json`` entry as docker's ``ContainerContext`` presents it."""

    def __init__(self, data: dict[str, Any], *, trunc: bool = True, now: float | None = None) -> None:
        self._c = data
        self._trunc = trunc
        self._now = time.time() if now is None else now

    @property
    def ID(self) -> str:
        cid = str(self._c.get("Id", ""))
        return truncate_id(cid) if self._trunc else cid

    @property
    def Image(self) -> str:
        image = str(self._c.get("Image", "") or "<no image>")
        if self._trunc and image.startswith("sha256:"):
            return truncate_id(image)
        return image

    @property
    def Command(self) -> str:
        command = str(self._c.get("Command", ""))
        return go_quote(ellipsis(command, 20) if self._trunc else command)

    @property
    def CreatedAt(self) -> str:
        return go_time(float(self._c.get("Created", 0)))

    @property
    def RunningFor(self) -> str:
        return time_ago(float(self._c.get("Created", 0)), self._now)

    @property
    def Ports(self) -> str:
        return format_ports(self._c.get("Ports"))

    @property
    def State(self) -> str:
        return str(self._c.get("State", ""))

    @property
    def Status(self) -> str:
        return str(self._c.get("Status", ""))

    @property
    def Size(self) -> str:
        size_rw = int(self._c.get("SizeRw") or 0)
        size_root = int(self._c.get("SizeRootFs") or 0)
        text = human_size(size_rw)
        return f"{text} (virtual {human_size(size_root)})" if size_root > 0 else text

    @property
    def Names(self) -> str:
        names = [str(name).lstrip("/") for name in self._c.get("Names") or []]
        if self._trunc:
            names = [name for name in names if "/" not in name][:1]
        return ",".join(names)

    @property
    def Labels(self) -> str:
        labels: dict[str, str] = self._c.get("Labels") or {}
        return ",".join(f"{key}={value}" for key, value in labels.items())

    def Label(self, name: str) -> str:
        labels: dict[str, str] = self._c.get("Labels") or {}
        return labels.get(name, "")

    @property
    def Mounts(self) -> str:
        mounts = []
        for mount in self._c.get("Mounts") or []:
            name = str(mount.get("Name") or mount.get("Source") or "")
            mounts.append(ellipsis(name, 15) if self._trunc and mount.get("Name") else name)
        return ",".join(mounts)

    @property
    def LocalVolumes(self) -> str:
        mounts = self._c.get("Mounts") or []
        return str(sum(1 for m in mounts if m.get("Driver") == "local"))

    @property
    def Networks(self) -> str:
        networks = ((self._c.get("NetworkSettings") or {}).get("Networks")) or {}
        return ",".join(sorted(networks))


class ImageView:
    """One repository:tag row of ``GET /images/json`` (docker's ``ImageContext``)."""

    def __init__(
        self,
        data: dict[str, Any],
        repository: str,
        tag: str,
        *,
        digest: str = "<none>",
        trunc: bool = True,
        now: float | None = None,
    ) -> None:
        self._i = data
        self.Repository = repository
        self.Tag = tag
        self.Digest = digest
        self._trunc = trunc
        self._now = time.time() if now is None else now

    @property
    def ID(self) -> str:
        image_id = str(self._i.get("Id", ""))
        return truncate_id(image_id) if self._trunc else image_id

    @property
    def CreatedSince(self) -> str:
        created = float(self._i.get("Created") or 0)
        return time_ago(created, self._now) if created > 0 else "N/A"

    @property
    def CreatedAt(self) -> str:
        return go_time(float(self._i.get("Created") or 0))

    @property
    def Size(self) -> str:
        return human_size(int(self._i.get("Size") or 0))

    @property
    def VirtualSize(self) -> str:
        return human_size(int(self._i.get("VirtualSize") or self._i.get("Size") or 0))

    @property
    def SharedSize(self) -> str:
        shared = int(self._i.get("SharedSize", -1))
        return "N/A" if shared < 0 else human_size(shared)

    @property
    def UniqueSize(self) -> str:
        shared = int(self._i.get("SharedSize", -1))
        return "N/A" if shared < 0 else human_size(int(self._i.get("Size") or 0) - shared)

    @property
    def Containers(self) -> str:
        count = int(self._i.get("Containers", -1))
        return "N/A" if count < 0 else str(count)


def image_rows(images: list[dict[str, Any]], *, trunc: bool, digests: bool = False) -> list[ImageView]:
    """Expand each image into one row per tag (``<none>`` for untagged), newest first like docker."""
    now = time.time()
    rows: list[ImageView] = []
    for image in sorted(images, key=lambda i: -int(i.get("Created") or 0)):
        tags = [t for t in image.get("RepoTags") or [] if t != "<none>:<none>"]
        repo_digests = [d for d in image.get("RepoDigests") or [] if d != "<none>@<none>"]
        if not tags:
            repo = repo_digests[0].rpartition("@")[0] if repo_digests else "<none>"
            digest = repo_digests[0].rpartition("@")[2] if repo_digests else "<none>"
            rows.append(ImageView(image, repo, "<none>", digest=digest, trunc=trunc, now=now))
            continue
        for ref in tags:
            slash = ref.rfind("/")
            colon = ref.rfind(":")
            repo, tag = (ref[:colon], ref[colon + 1 :]) if colon > slash else (ref, "<none>")
            digest = next((d.rpartition("@")[2] for d in repo_digests if d.startswith(repo + "@")), "<none>")
            rows.append(ImageView(image, repo, tag, digest=digest, trunc=trunc, now=now))
    return rows
