"""A push's webhook delivery is picked up at once, not at the worker's next poll.

Real processes on loopback: a hub, a registry in index mode trusting it, a v1 push played by
HTTP as an engine plays it (index token, image and tag into the registry, then ``PUT
.../images``), and a receiver. The worker's poll interval is 5 s, so a delivery that waited
for a poll would arrive seconds after the push; it must arrive within ``BOUND``. On SQLite the
hub's own worker is woken by the request's commit; on PostgreSQL the request lands on one of
two hub processes without a worker and a separate ``wharf-hub worker`` process delivers, woken
by ``NOTIFY``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from wharf_hub.pgtesting import PostgresCluster
from wharf_hub.testing import HubProcess
from wharf_hub.webhooks.testing import Receiver
from wharf_registry.testing import (
    RegistryProcess,
    free_port,
    image_json,
    make_layer,
    payload_checksum,
    random_image_id,
)

PASSWORD = "correct-horse-battery"
ALICE = httpx.BasicAuth("alice", PASSWORD)
POLL = 5.0
BOUND = 0.3  # seconds from the end of the push to the receiver: far below the poll interval
PUSHES = 3


@contextmanager
def stack(
    root: Path, database_url: str | None = None, *, separate_worker: bool = False
) -> Iterator[HubProcess]:
    port = free_port()
    hub = HubProcess(
        root / "hub",
        registry_url=f"http://127.0.0.1:{port}",
        database_url=database_url,
        env={"WHARF_HUB_WEBHOOKS__POLL_INTERVAL": str(POLL)},
        worker=not separate_worker,
        workers=2 if separate_worker else 1,
    )
    registry = RegistryProcess(root=root / "registry", port=port)
    try:
        hub.start()
        hub.create_user("alice", PASSWORD)
        if separate_worker:
            hub.start_worker()
            deadline = time.monotonic() + 30
            log = hub.root / "worker.log"
            while "worker.listening" not in log.read_text(errors="replace"):
                assert time.monotonic() < deadline, log.read_text(errors="replace")[-3000:]
                time.sleep(0.05)
        registry.index_public_key = hub.public_key_path
        registry.root.mkdir()
        registry.start()
        yield hub
    finally:
        registry.stop()
        hub.stop()


def push(hub: HubProcess, client: httpx.Client, tag: str) -> float:
    """A v1 push of a new image as ``alice/web:<tag>``; when its final ``PUT .../images`` ended."""
    image_id = random_image_id()
    r = client.put(
        "/v1/repositories/alice/web/", json=[{"id": image_id}], auth=ALICE, headers={"X-Docker-Token": "true"}
    )
    assert r.status_code == 200, r.text
    token = {"Authorization": f"Token {r.headers['x-docker-token']}"}
    raw, layer = image_json(image_id), make_layer({"hello": tag.encode()})
    with httpx.Client(base_url=hub.registry_url, headers=token, timeout=30) as registry:
        assert registry.put(f"/v1/images/{image_id}/json", content=raw).status_code == 200
        assert registry.put(f"/v1/images/{image_id}/layer", content=layer).status_code == 200
        checksum = {"X-Docker-Checksum-Payload": payload_checksum(raw, layer)}
        assert registry.put(f"/v1/images/{image_id}/checksum", headers=checksum).status_code == 200
        tagged = registry.put(f"/v1/repositories/alice/web/tags/{tag}", content=json.dumps(image_id))
        assert tagged.status_code == 200, tagged.text
    done = client.put("/v1/repositories/alice/web/images", json=[{"id": image_id, "Tag": tag}], auth=ALICE)
    assert done.status_code == 204, done.text
    return time.monotonic()


def delivery_delays(hub: HubProcess) -> list[float]:
    """Seconds from each timed push's end to its webhook POST (after one untimed push)."""
    # a new connection per request: on two processes, requests land on either
    with (
        Receiver() as receiver,
        httpx.Client(base_url=hub.url, timeout=30, headers={"Connection": "close"}) as c,
    ):
        created = c.post("/api/v1/repositories", json={"namespace": "alice", "name": "web"}, auth=ALICE)
        assert created.status_code == 201, created.text
        hook = c.post(
            "/api/v1/repositories/alice/web/webhooks", json={"name": "ci", "url": receiver.url}, auth=ALICE
        )
        assert hook.status_code == 201, hook.text
        push(hub, c, "warm")
        receiver.wait_for(1, timeout=30)
        delays = []
        for n in range(1, PUSHES + 1):
            ended = push(hub, c, f"v{n}")
            [*_, received] = receiver.wait_for(n + 1, timeout=30)
            delays.append(time.monotonic() - ended)
            assert received.json()["push_data"]["tag"] == f"v{n}"
    return delays


def test_push_reaches_the_receiver_before_the_poll(tmp_path: Path) -> None:
    with stack(tmp_path) as hub:
        delays = delivery_delays(hub)
    assert max(delays) < BOUND, f"push end -> receipt: {delays} s (poll interval {POLL} s)"


def test_push_reaches_a_worker_in_another_process_before_the_poll(
    tmp_path: Path, postgres: PostgresCluster
) -> None:
    with stack(tmp_path, postgres.database(), separate_worker=True) as hub:
        delays = delivery_delays(hub)
    assert max(delays) < BOUND, f"push end -> receipt: {delays} s (poll interval {POLL} s)"
