"""The default seccomp profile is Docker's: namespaces and mounts need CAP_SYS_ADMIN, io_uring is shut."""

from __future__ import annotations

import errno
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from engines import Engine, needs_docker

pytestmark = [pytest.mark.root, needs_docker]

# each call's errno, 0 when it worked: clone with and without namespace flags, clone3, fsopen,
# io_uring, personality
PROBE_C = r"""
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int forked(long rc) {
    if (rc == 0) _exit(0);
    if (rc < 0) return errno;
    waitpid((pid_t)rc, NULL, __WALL);
    return 0;
}

int main(void) {
    unsigned long long args[11];
    unsigned char params[120];
    memset(args, 0, sizeof args);
    args[4] = SIGCHLD;
    memset(params, 0, sizeof params);
    printf("clone_newuser=%d\n", forked(syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0)));
    printf("clone_newns=%d\n", forked(syscall(SYS_clone, CLONE_NEWNS | SIGCHLD, 0, 0, 0, 0)));
    printf("clone_plain=%d\n", forked(syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0)));
    printf("clone3=%d\n", forked(syscall(435, args, 64)));
    long fd = syscall(430, "tmpfs", 0);  /* fsopen */
    printf("fsopen=%d\n", fd < 0 ? errno : 0);
    fd = syscall(425, 1, params);  /* io_uring_setup */
    printf("io_uring_setup=%d\n", fd < 0 ? errno : 0);
    fd = syscall(SYS_personality, 0x0040000);  /* ADDR_NO_RANDOMIZE: not one Docker allows */
    printf("personality_no_aslr=%d\n", fd < 0 ? errno : 0);
    fd = syscall(SYS_personality, 8);  /* PER_LINUX32, as linux32 asks */
    printf("personality_linux32=%d\n", fd < 0 ? errno : 0);
    syscall(SYS_personality, 0);
    return 0;
}
"""


def run(engine: Engine, *args: str) -> subprocess.CompletedProcess[bytes]:
    return engine.docker("run", "--rm", *args)


def seccomp_mode(engine: Engine, *flags: str) -> str:
    out = run(engine, *flags, "busybox", "grep", "^Seccomp:", "/proc/self/status")
    assert out.returncode == 0, out.stderr
    return out.stdout.split()[1].decode()


@pytest.mark.parametrize(
    "command",
    [
        ["unshare", "-U", "true"],
        ["unshare", "-m", "true"],
        ["unshare", "-p", "-f", "true"],
        ["sh", "-c", "mkdir -p /mnt && mount -t tmpfs none /mnt"],
    ],
)
def test_default_caps_cannot_make_namespaces_or_mount(engine: Engine, command: list[str]) -> None:
    result = run(engine, "busybox", *command)
    assert result.returncode != 0
    assert b"not permitted" in result.stderr or b"permission denied" in result.stderr.lower(), result.stderr


@pytest.mark.parametrize(
    "command",
    [
        ["unshare", "-m", "true"],
        ["unshare", "-U", "true"],
        ["sh", "-c", "mkdir -p /mnt && mount -t tmpfs none /mnt && touch /mnt/x && umount /mnt"],
    ],
)
def test_cap_sys_admin_opens_namespaces_and_mounts(engine: Engine, command: list[str]) -> None:
    result = run(engine, "--cap-add", "SYS_ADMIN", "busybox", *command)
    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not shutil.which("gcc"):
        pytest.skip("gcc is needed to build the syscall probe")
    where = tmp_path_factory.mktemp("probe")
    (where / "probe.c").write_text(PROBE_C)
    subprocess.run(["gcc", "-static", "-O", "-o", str(where / "probe"), str(where / "probe.c")], check=True)
    return where / "probe"


def probe_errnos(engine: Engine, probe: Path, *flags: str) -> dict[str, int]:
    out = run(engine, *flags, "-v", f"{probe}:/probe:ro", "busybox", "/probe")
    assert out.returncode == 0, out.stderr
    return {k: int(v) for k, v in (line.split("=") for line in out.stdout.decode().split())}


def test_syscalls_docker_keeps_from_unprivileged_containers(engine: Engine, probe: Path) -> None:
    assert probe_errnos(engine, probe) == {
        "clone_newuser": errno.EPERM,
        "clone_newns": errno.EPERM,
        "clone_plain": 0,
        "clone3": errno.ENOSYS,
        "fsopen": errno.EPERM,
        "io_uring_setup": errno.EPERM,
        "personality_no_aslr": errno.EPERM,
        "personality_linux32": 0,
    }
    admin = probe_errnos(engine, probe, "--cap-add", "SYS_ADMIN")
    assert admin == {
        "clone_newuser": 0,
        "clone_newns": 0,
        "clone_plain": 0,
        "clone3": 0,
        "fsopen": 0,
        "io_uring_setup": errno.EPERM,
        "personality_no_aslr": errno.EPERM,
        "personality_linux32": 0,
    }


def test_privileged_and_unconfined_have_no_filter(engine: Engine) -> None:
    assert seccomp_mode(engine) == "2"  # filtered
    assert seccomp_mode(engine, "--privileged") == "0"
    assert seccomp_mode(engine, "--security-opt", "seccomp=unconfined") == "0"
    assert (
        run(
            engine,
            "--security-opt",
            "seccomp=unconfined",
            "--cap-add",
            "SYS_ADMIN",
            "busybox",
            "unshare",
            "-m",
            "true",
        ).returncode
        == 0
    )


def test_ordinary_programs_still_work(engine: Engine) -> None:
    script = (
        "set -e; mkdir -p /tmp/d; echo hi > /tmp/d/f; cp /tmp/d/f /tmp/g; ln -s /tmp/g /tmp/l; cat /tmp/l;"
        " ps >/dev/null; (sleep 0.1 &); wait; date +%Y >/dev/null; wc -l /etc/passwd >/dev/null;"
        "chroot / true; hostname >/dev/null; id -u"
    )
    out = run(engine, "busybox", "sh", "-c", script)
    assert out.returncode == 0, out.stderr
    assert out.stdout == b"hi\n0\n"


def test_a_docker_format_profile_is_applied_with_its_conditions(engine: Engine, tmp_path: Path) -> None:
    profile = tmp_path / "profile.json"
    profile.write_text(
        json.dumps(
            {
                "defaultAction": "SCMP_ACT_ALLOW",
                "archMap": [
                    {"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86"]},
                    {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]},
                ],
                "syscalls": [
                    {
                        "names": ["mkdir", "mkdirat"],
                        "action": "SCMP_ACT_ERRNO",
                        "errnoRet": 1,
                        "excludes": {"caps": ["CAP_SYS_ADMIN"]},
                    },
                    {"names": ["rmdir"], "action": "SCMP_ACT_ERRNO", "includes": {"arches": ["s390x"]}},
                ],
            }
        )
    )
    opt = f"seccomp={profile}"
    refused = run(engine, "--security-opt", opt, "busybox", "mkdir", "/made")
    assert refused.returncode != 0 and b"Operation not permitted" in refused.stderr
    # the mkdir rule excludes CAP_SYS_ADMIN holders; the rmdir rule is for another arch
    allowed = run(
        engine,
        "--security-opt",
        opt,
        "--cap-add",
        "SYS_ADMIN",
        "busybox",
        "sh",
        "-c",
        "mkdir /made && rmdir /made",
    )
    assert allowed.returncode == 0, allowed.stderr
    assert seccomp_mode(engine, "--security-opt", opt) == "2"


@pytest.mark.parametrize("profile", ["not json", '{"syscalls": []}', '{"defaultAction": "SCMP_ACT_NOPE"}'])
def test_a_broken_profile_is_a_clear_400(engine: Engine, profile: str) -> None:
    status, body = engine.request(
        "POST",
        "/containers/create",
        {"Image": "busybox", "HostConfig": {"SecurityOpt": [f"seccomp={profile}"]}},
    )
    assert status == 400 and b"invalid seccomp profile" in body, (status, body)
