from __future__ import annotations

import pytest
from wharf_common.errors import InvalidArgument
from wharf_engine.images.changes import apply_changes
from wharf_engine.shapes import ImageConfig


def test_exec_and_shell_forms() -> None:
    cfg = apply_changes({}, ['CMD ["sh", "-c", "echo hi"]', "ENTRYPOINT /bin/run --fast"])
    assert cfg["Cmd"] == ["sh", "-c", "echo hi"]
    assert cfg["Entrypoint"] == ["/bin/sh", "-c", "/bin/run --fast"]


def test_env_label_expose_volume_workdir_user() -> None:
    cfg = apply_changes(
        {"Env": ["PATH=/bin", "A=1"]},
        [
            "ENV A=2 B=3",
            "ENV C hello world",
            "LABEL team=core",
            "EXPOSE 80 53/udp",
            "VOLUME /data",
            "WORKDIR /srv",
            "USER nobody",
            "STOPSIGNAL SIGINT",
        ],
    )
    assert cfg["Env"] == ["PATH=/bin", "A=2", "B=3", "C=hello world"]
    assert cfg["Labels"] == {"team": "core"}
    assert cfg["ExposedPorts"] == {"80/tcp": {}, "53/udp": {}}
    assert cfg["Volumes"] == {"/data": {}}
    assert (cfg["WorkingDir"], cfg["User"], cfg["StopSignal"]) == ("/srv", "nobody", "SIGINT")


def test_unknown_instruction_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="RUN is not a valid change command"):
        apply_changes({}, ["RUN rm -rf /"])


def test_original_config_is_not_modified() -> None:
    original: ImageConfig = {"Env": ["A=1"]}
    apply_changes(original, ["ENV A=2"])
    assert original == {"Env": ["A=1"]}
