"""The default seccomp profile follows the container's capabilities and the machine."""

from __future__ import annotations

from typing import Any

from wharf_engine.runtime.seccomp import default_profile
from wharf_engine.runtime.spec import DEFAULT_CAPS


def rules_for(profile: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [rule for rule in profile["syscalls"] if name in rule["names"]]


def test_default_caps_get_masked_clone_and_enosys_clone3() -> None:
    profile = default_profile(list(DEFAULT_CAPS), "x86_64")
    assert profile["defaultAction"] == "SCMP_ACT_ERRNO" and profile["defaultErrnoRet"] == 1
    assert profile["architectures"] == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
    (clone,) = rules_for(profile, "clone")
    assert clone["args"] == [{"index": 0, "value": 0x7E020000, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]
    assert rules_for(profile, "clone3") == [{"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]
    for name in (
        "mount",
        "unshare",
        "setns",
        "fsopen",
        "fsmount",
        "mount_setattr",
        "io_uring_setup",
        "init_module",
        "kexec_load",
        "reboot",
        "open_by_handle_at",
    ):
        assert not rules_for(profile, name), name
    assert rules_for(profile, "arch_prctl") and not rules_for(profile, "set_tls")
    assert len(rules_for(profile, "personality")) == 5


def test_capabilities_open_their_calls() -> None:
    profile = default_profile([*DEFAULT_CAPS, "CAP_SYS_ADMIN", "CAP_SYS_MODULE"], "aarch64")
    assert profile["architectures"] == ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]
    (clone,) = rules_for(profile, "clone")
    assert "args" not in clone and clone["action"] == "SCMP_ACT_ALLOW"
    assert all(rule["action"] == "SCMP_ACT_ALLOW" for rule in rules_for(profile, "clone3"))
    for name in ("mount", "unshare", "setns", "fsopen", "init_module"):
        assert rules_for(profile, name), name
    assert not rules_for(profile, "arch_prctl") and rules_for(profile, "set_tls")
