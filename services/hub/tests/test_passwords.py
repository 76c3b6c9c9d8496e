"""Password checks: argon2 once per (hash, password) while it is remembered, and once for a
burst of identical checks that arrive together."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from wharf_hub.services.passwords import Passwords
from wharf_hub.settings import PasswordSettings


class CountingPasswords(Passwords):
    def __init__(self) -> None:
        super().__init__(PasswordSettings(time_cost=1, memory_cost=8192, parallelism=1))
        self.calls = 0
        hasher, lock = self._hasher, threading.Lock()
        verify = hasher.verify

        def slow_verify(stored: str, password: str) -> bool:
            with lock:
                self.calls += 1
            time.sleep(0.2)  # every other check of the burst arrives while this one runs
            return verify(stored, password)

        self._hasher = type("Slow", (), {"verify": staticmethod(slow_verify), "hash": hasher.hash})()


def burst(passwords: Passwords, stored: str, password: str, n: int = 16) -> list[bool]:
    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(lambda _: passwords.verify(stored, password), range(n)))


def test_a_burst_of_identical_checks_runs_argon2_once() -> None:
    passwords = CountingPasswords()
    stored = passwords.hash("Wharf-Hub-9-Quay")
    assert burst(passwords, stored, "Wharf-Hub-9-Quay") == [True] * 16
    assert passwords.calls == 1
    assert passwords.verify(stored, "Wharf-Hub-9-Quay") and passwords.calls == 1  # remembered


def test_a_burst_of_wrong_passwords_is_refused_every_time() -> None:
    passwords = CountingPasswords()
    stored = passwords.hash("Wharf-Hub-9-Quay")
    assert burst(passwords, stored, "wrong-password-1") == [False] * 16
    assert passwords.calls == 1
    assert not passwords.verify(stored, "wrong-password-1")  # a wrong one is never remembered
    assert passwords.calls == 2


def test_a_new_hash_forgets_the_old_answer() -> None:
    passwords = CountingPasswords()
    old = passwords.hash("Wharf-Hub-9-Quay")
    assert passwords.verify(old, "Wharf-Hub-9-Quay")
    new = passwords.hash("Other-Hub-7-Pier")
    assert not passwords.verify(new, "Wharf-Hub-9-Quay")
