"""v1 ids, image JSON, payload checksums and the v1-id map: the pure pieces of push and pull."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from wharf_common.registry_v1 import PayloadHasher, payload_checksum
from wharf_engine.distribution.v1 import chain_ids, check_json, derive_id, image_config, v1_chain
from wharf_engine.distribution.v1ids import V1IdStore

BASE, TOP = "sha256:" + "a" * 64, "sha256:" + "b" * 64


def config(cmd: list[str] | None = None) -> dict[str, Any]:
    return {
        "architecture": "amd64",
        "os": "linux",
        "created": "2024-01-02T00:00:00Z",
        "config": {"Cmd": cmd or ["sh"], "Env": ["PATH=/bin"]},
        "rootfs": {"type": "layers", "diff_ids": [BASE, TOP]},
        "history": [
            {"created": "2024-01-01T00:00:00Z", "created_by": "/bin/sh -c #(nop) ADD file"},
            {
                "created": "2024-01-01T12:00:00Z",
                "created_by": "/bin/sh -c #(nop) ENV A=1",
                "empty_layer": True,
            },
            {"created": "2024-01-02T00:00:00Z", "created_by": "/bin/sh -c echo hi > /x"},
        ],
    }


class NoneKnown:
    def layer_id(self, chain_id: str, parent: str | None) -> str | None:
        return None

    def image_id(self, image_id: str, parent: str | None) -> str | None:
        return None

    def raw_json(self, v1_id: str) -> bytes | None:
        return None


def test_payload_checksum_is_sha256_of_json_newline_layer() -> None:
    raw, layer = b'{"id":"x"}', b"\x1f\x8b layer bytes"
    expected = "sha256:" + hashlib.sha256(raw + b"\n" + layer).hexdigest()
    assert payload_checksum(raw, layer) == expected
    hasher = PayloadHasher(raw)
    for i in range(0, len(layer), 3):
        hasher.update(layer[i : i + 3])
    assert hasher.checksum == expected


def test_chain_ids_follow_oci() -> None:
    second = "sha256:" + hashlib.sha256(f"{BASE} {TOP}".encode()).hexdigest()
    assert chain_ids([BASE, TOP]) == [BASE, second]
    assert chain_ids([]) == []


def test_v1_chain_is_deterministic_and_root_first() -> None:
    first = v1_chain("sha256:img", config(), [10, 20], NoneKnown())
    again = v1_chain("sha256:img", config(), [10, 20], NoneKnown())
    assert [layer.v1_id for layer in first] == [layer.v1_id for layer in again]
    assert [layer.raw for layer in first] == [layer.raw for layer in again]
    base, top = (json.loads(layer.raw) for layer in first)
    assert base["id"] == first[0].v1_id and "parent" not in base and "config" not in base
    assert base["container_config"] == {"Cmd": ["/bin/sh -c #(nop) ADD file"]}
    assert base["Size"] == 10 and base["created"] == "2024-01-01T00:00:00Z"
    assert top["parent"] == base["id"] and top["config"]["Cmd"] == ["sh"]
    assert top["container_config"] == {"Cmd": ["/bin/sh -c echo hi > /x"]}  # empty_layer skipped
    assert all(len(layer.v1_id) == 64 for layer in first)


def test_changing_the_top_config_keeps_the_base_id() -> None:
    one = v1_chain("sha256:one", config(["sh"]), [10, 20], NoneKnown())
    two = v1_chain("sha256:two", config(["true"]), [10, 20], NoneKnown())
    assert one[0].v1_id == two[0].v1_id
    assert one[1].v1_id != two[1].v1_id


def test_derived_id_depends_on_parent_layer_and_json() -> None:
    body = {"created": "x"}
    ids = {
        derive_id(None, BASE, body),
        derive_id("p" * 64, BASE, body),
        derive_id(None, TOP, body),
        derive_id(None, BASE, {"created": "y"}),
    }
    assert len(ids) == 4


def test_image_config_from_v1_round_trip_and_stable() -> None:
    chain = v1_chain("sha256:img", config(), [10, 20], NoneKnown())
    jsons = [json.loads(layer.raw) for layer in chain]
    rebuilt = image_config(jsons, [BASE, TOP])
    assert rebuilt["config"] == config()["config"]
    assert rebuilt["rootfs"] == {"type": "layers", "diff_ids": [BASE, TOP]}
    assert [h["created_by"] for h in rebuilt["history"]] == [
        "/bin/sh -c #(nop) ADD file",
        "/bin/sh -c echo hi > /x",
    ]
    assert rebuilt["created"] == "2024-01-02T00:00:00Z" and rebuilt["os"] == "linux"
    assert image_config(jsons, [BASE, TOP]) == rebuilt


def test_check_json_refuses_wrong_id_or_parent() -> None:
    assert check_json("a" * 64, None, {"id": "a" * 64}) is None
    assert check_json("a" * 64, "b" * 64, {"id": "a" * 64, "parent": "b" * 64}) is None
    assert "names id" in (check_json("a" * 64, None, {"id": "c" * 64}) or "")
    assert "parent" in (check_json("a" * 64, "b" * 64, {"id": "a" * 64}) or "")


def test_v1_id_store_reuses_ids_only_under_the_same_parent(tmp_path: Path) -> None:
    store = V1IdStore(tmp_path)
    chains = chain_ids([BASE, TOP])
    store.record(
        [("1" * 64, None, BASE, chains[0]), ("2" * 64, "1" * 64, TOP, chains[1])], "sha256:img", prefer=True
    )
    reloaded = V1IdStore(tmp_path)
    assert reloaded.diff_id("2" * 64) == TOP
    assert reloaded.layer_id(chains[0], None) == "1" * 64
    assert reloaded.layer_id(chains[1], "1" * 64) == "2" * 64
    assert reloaded.layer_id(chains[1], "9" * 64) is None  # another parent: another v1 image
    assert reloaded.image_id("sha256:img", "1" * 64) == "2" * 64
    pushed = v1_chain("sha256:img", config(), [10, 20], reloaded)
    assert [layer.v1_id for layer in pushed] == ["1" * 64, "2" * 64]


def test_v1_id_store_keeps_first_pushed_id_but_prefers_pulled(tmp_path: Path) -> None:
    store = V1IdStore(tmp_path)
    store.record([("1" * 64, None, BASE, BASE)])
    store.record([("3" * 64, None, BASE, BASE)])
    assert store.layer_id(BASE, None) == "1" * 64
    store.record([("4" * 64, None, BASE, BASE)], prefer=True)
    assert store.layer_id(BASE, None) == "4" * 64
    store.remember_layer("5" * 64, None, TOP)
    assert V1IdStore(tmp_path).diff_id("5" * 64) == TOP


class Known:
    """An engine that pushed the first layer before, as the top of another image."""

    def __init__(self, v1_id: str, raw: bytes) -> None:
        self.v1_id, self.raw = v1_id, raw

    def layer_id(self, chain_id: str, parent: str | None) -> str | None:
        return self.v1_id if parent is None else None

    def image_id(self, image_id: str, parent: str | None) -> str | None:
        return None

    def raw_json(self, v1_id: str) -> bytes | None:
        return self.raw if v1_id == self.v1_id else None


def test_reused_id_goes_out_with_the_json_it_had() -> None:
    """An id names one JSON: a registry takes a complete image into another repository only with it."""
    first = b'{"config":{"Cmd":["sh"]},"id":"' + b"a" * 64 + b'"}'
    chain = v1_chain("sha256:img", config(), [10, 20], Known("a" * 64, first))
    assert (chain[0].v1_id, chain[0].raw) == ("a" * 64, first)
    assert json.loads(chain[1].raw)["parent"] == "a" * 64
