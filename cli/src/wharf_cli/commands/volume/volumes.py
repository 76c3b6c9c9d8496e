"""``wharf volume``: create, ls, inspect, rm, prune."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from wharf_client import ClientError, NotFoundError
from wharf_common.humanize import human_size

from ...formatter import render
from ...inspecting import inspect_each
from ...opts import confirm, natural_key, parse_filters, parse_labels
from ...output import describe, err, fail, fail_client, out
from ...session import client

VOLUME_TITLES = {
    "Name": "VOLUME NAME",
    "Driver": "DRIVER",
    "Scope": "SCOPE",
    "Mountpoint": "MOUNTPOINT",
    "Labels": "LABELS",
    "Label": "LABEL",
    "Links": "LINKS",
    "Size": "SIZE",
}
VOLUME_TABLE = "table {{.Driver}}\t{{.Name}}"
PRUNE_WARNING = {
    False: "WARNING! This will remove anonymous local volumes not used by at least one container.",
    True: "WARNING! This will remove all local volumes not used by at least one container.",
}


class VolumeView:
    """One volume as docker's ``volumeContext`` presents it to templates."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._v = data

    @property
    def Name(self) -> str:
        return str(self._v.get("Name", ""))

    @property
    def Driver(self) -> str:
        return str(self._v.get("Driver", ""))

    @property
    def Scope(self) -> str:
        return str(self._v.get("Scope", ""))

    @property
    def Mountpoint(self) -> str:
        return str(self._v.get("Mountpoint", ""))

    @property
    def Labels(self) -> str:
        labels = self._v.get("Labels") or {}
        return ",".join(f"{key}={value}" for key, value in labels.items())

    def Label(self, name: str) -> str:
        return str((self._v.get("Labels") or {}).get(name, ""))

    @property
    def Links(self) -> str:
        usage = self._v.get("UsageData") or {}
        return str(usage["RefCount"]) if "RefCount" in usage else "N/A"

    @property
    def Size(self) -> str:
        usage = self._v.get("UsageData") or {}
        return human_size(int(usage["Size"]), 4) if "Size" in usage else "N/A"


def create(
    name: Annotated[str | None, typer.Argument(metavar="[VOLUME]")] = None,
    name_flag: Annotated[str | None, typer.Option("--name", help="Specify volume name", hidden=True)] = None,
    driver: Annotated[str, typer.Option("-d", "--driver", help="Specify volume driver name")] = "local",
    label: Annotated[list[str] | None, typer.Option("--label", help="Set metadata for a volume")] = None,
    opt: Annotated[list[str] | None, typer.Option("-o", "--opt", help="Set driver specific options")] = None,
) -> None:
    """Create a volume."""
    if name and name_flag and name != name_flag:
        fail(f'conflicting options: either specify --name or provide positional arg, not both: "{name_flag}"')
    try:
        created = client().volume_create(
            name or name_flag, driver=driver, driver_opts=parse_labels(opt), labels=parse_labels(label)
        )
    except ClientError as error:
        fail_client(error)
    out(str(created.get("Name", "")))


def ls(
    filter: Annotated[
        list[str] | None, typer.Option("-f", "--filter", help="Provide filter values (e.g. 'dangling=true')")
    ] = None,
    format: Annotated[
        str | None, typer.Option("--format", help="Format output using a custom template")
    ] = None,
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="Only display volume names")] = False,
) -> None:
    """List volumes."""
    try:
        listing = client().volume_list(filters=parse_filters(filter))
    except ClientError as error:
        fail_client(error)
    volumes = sorted(listing.get("Volumes") or [], key=lambda v: natural_key(str(v.get("Name", ""))))
    for warning in listing.get("Warnings") or []:
        err(str(warning))
    fmt = "{{.Name}}" if quiet else format or VOLUME_TABLE
    out(render(fmt, [VolumeView(v) for v in volumes], VOLUME_TITLES, VOLUME_TABLE), end="")


def inspect(
    names: Annotated[list[str], typer.Argument(metavar="VOLUME...")],
    format: Annotated[
        str | None, typer.Option("-f", "--format", help="Format output using a Go template")
    ] = None,
) -> None:
    """Display detailed information on one or more volumes."""
    inspect_each(names, lambda name: client().volume_inspect(name), format)


def rm(
    names: Annotated[list[str], typer.Argument(metavar="VOLUME...")],
    force: Annotated[
        bool, typer.Option("-f", "--force", help="Force the removal of one or more volumes")
    ] = False,
) -> None:
    """Remove one or more volumes. You cannot remove a volume that is in use by a container."""
    api = client()
    errors: list[str] = []
    for name in names:
        try:
            api.volume_remove(name, force=force)
        except ClientError as error:
            if not (force and isinstance(error, NotFoundError)):  # docker ignores a missing one with -f
                errors.append(describe(error))
                continue
        out(name)
    if errors:
        fail("\n".join(errors))


def prune(
    all: Annotated[
        bool, typer.Option("-a", "--all", help="Remove all unused volumes, not just anonymous ones")
    ] = False,
    filter: Annotated[
        list[str] | None, typer.Option("--filter", help="Provide filter values (e.g. 'label=<label>')")
    ] = None,
    force: Annotated[bool, typer.Option("-f", "--force", help="Do not prompt for confirmation")] = False,
) -> None:
    """Remove unused local volumes."""
    filters = parse_filters(filter)
    if all:
        filters["all"] = ["true"]
    reclaimed = 0
    if force or confirm(PRUNE_WARNING[all]):
        try:
            report = client().volume_prune(filters=filters)
        except ClientError as error:
            fail_client(error)
        deleted = report.get("VolumesDeleted") or []
        if deleted:
            out("Deleted Volumes:\n" + "".join(f"{name}\n" for name in deleted))
            reclaimed = int(report.get("SpaceReclaimed") or 0)
    out(f"Total reclaimed space: {human_size(reclaimed, 4)}")


def register(app: typer.Typer) -> None:
    volume = typer.Typer(help="Manage volumes", no_args_is_help=True)
    volume.command("create")(create)
    volume.command("ls")(ls)
    volume.command("list", hidden=True)(ls)
    volume.command("inspect")(inspect)
    volume.command("rm")(rm)
    volume.command("remove", hidden=True)(rm)
    volume.command("prune")(prune)
    app.add_typer(volume, name="volume")
