"""The hub's blocking work (SQLAlchemy, argon2, files) runs in the thread pool, never on the event
loop: a slow request does not hold up the others. A real hub process, an argon2 cost high
enough that one hash takes seconds, and pings answered while it runs."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from pathlib import Path

from wharf_hub.testing import HubProcess

SLOW_ARGON2 = {
    "WHARF_HUB_PASSWORDS__TIME_COST": "30",  # ~2 s on a quiet 2-core machine
    "WHARF_HUB_PASSWORDS__MEMORY_COST": "65536",
    "WHARF_HUB_PASSWORDS__PARALLELISM": "1",
}


def _ping(url: str) -> float:
    start = time.perf_counter()
    with urllib.request.urlopen(f"{url}/v1/_ping", timeout=30) as response:
        assert response.status == 200
    return time.perf_counter() - start


def test_ping_answers_promptly_while_a_signup_hashes(tmp_path: Path) -> None:
    hub = HubProcess(tmp_path / "hub", env=SLOW_ARGON2)
    hub.start()
    try:
        _ping(hub.url)  # warm: the first request imports and connects
        body = json.dumps({"username": "slowpoke", "password": "Slow-Pa55word", "email": "s@example.test"})
        request = urllib.request.Request(
            f"{hub.url}/v1/users/", body.encode(), {"Content-Type": "application/json"}, method="POST"
        )
        took: list[float] = []

        def signup() -> None:
            start = time.perf_counter()
            with urllib.request.urlopen(request, timeout=120) as response:
                assert response.status == 201
            took.append(time.perf_counter() - start)

        thread = threading.Thread(target=signup)
        thread.start()
        time.sleep(0.2)  # the signup is hashing by now
        pings = []
        while thread.is_alive():
            pings.append(_ping(hub.url))
            time.sleep(0.05)
        thread.join()
    finally:
        hub.stop()
    assert took, "the signup failed"
    # the hash must take long enough to tell a blocked loop from a free one
    assert took[0] > 0.6, f"argon2 was too fast to show anything ({took[0]:.2f}s)"
    assert pings, "no ping ran during the signup"
    assert max(pings) < took[0] / 3, f"a ping waited {max(pings):.2f}s behind a {took[0]:.2f}s signup"
