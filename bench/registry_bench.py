"""Registry throughput: push/pull through a wharf engine and wharf v1 registry, next to the Go registry v2.

Two images are made in a wharf engine started here (own bridge and /24, as ``net_bench.py``): ``big``, one
100 MiB layer of seeded random bytes (``docker import``), and ``small``, 50 small layers (``docker load`` of
a made-up archive: ``docker build`` of 50 ``RUN`` steps fails in wharf at 33 layers). Each round starts a
fresh ``wharf-registry`` and a fresh Debian
``docker-registry`` (filesystem storage in the temp dir) on free 127.0.0.1 ports, then times:

- ``docker push`` / ``docker pull`` (after ``docker rmi``) through the engine to/from wharf's registry, and
  ``skopeo copy`` of the same image (``docker save`` archive) to/from the Go registry (the peer);
- a raw 100 MiB layer ``PUT`` and ``GET`` with ``curl`` (v1 ``/v1/images/<id>/layer``; v2 blob upload);
- 20 concurrent ``curl`` GETs of that layer from each registry (total MiB/s);
- the floor: ``cp`` of the saved layer files.

Throughput: the image's uncompressed layer bytes (as ``docker save`` has them) over wall time, MiB/s;
medians and wharf / peer. The engine pushes v2 to a registry that offers it (wharf's does). The big push
has a goal too (>= 300 MiB/s, beside ``cp``), and the CPU seconds engine and registry spent on it (less
disturbed by a loaded machine than wall time). Nothing is sent anywhere but 127.0.0.1. On the way out
(SIGTERM included) every process is stopped by pid, the bridge deleted and the temp dir removed.

Usage: ``.venv/bin/python bench/registry_bench.py [--rounds N] [--json F] [--push-big-only]`` (``--help``)
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import random
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

# bench/bench.py and bench/net_bench.py, whose helpers this reuses: run as a script, sys.path[0] is bench/;
# mypy, run from the repo root, sees bench/ as a namespace package instead
if TYPE_CHECKING:
    from bench import bench as base
    from bench import net_bench as net
else:
    import net_bench as net

    import bench as base

MIB = 1 << 20
BIG_BYTES, SMALL_LAYERS, CONCURRENT, SEED = 100 * MIB, 50, 20, 20240611
GO_CONFIG = """\
version: 0.1
log: {{level: error, accesslog: {{disabled: true}}}}
storage: {{filesystem: {{rootdirectory: {root}}}, delete: {{enabled: true}}}}
http: {{addr: "127.0.0.1:{port}"}}
"""
PUSH_GOAL = 300.0  # MiB/s, the push of the 100 MiB layer through the engine
# key, label; every row is wharf vs the peer
ROWS = {
    "push-big": "push 1x100 MiB layer",
    "pull-big": "pull 1x100 MiB layer",
    "push-small": f"push {SMALL_LAYERS} small layers",
    "pull-small": f"pull {SMALL_LAYERS} small layers",
    "raw-put": "raw layer PUT (curl)",
    "raw-get": "raw layer GET (curl)",
    "concurrent": f"{CONCURRENT} concurrent GETs (total)",
}
Results = dict[str, dict[str, list[float]]]  # row -> wharf | peer | floor -> MiB/s samples (+ cpu seconds)


def run(argv: Sequence[str], env: dict[str, str] | None = None, timeout: float = 300) -> float:
    """Seconds a command that must succeed takes."""
    start = time.perf_counter()
    try:
        proc = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise base.Skip(f"{argv[0]}: {exc}") from exc
    if proc.returncode != 0:
        raise base.Skip(
            f"{shlex.join(argv[:4])}… exited {proc.returncode}: {base.tail(proc.stderr or proc.stdout)}"
        )
    return time.perf_counter() - start


def wait_http(url: str, proc: subprocess.Popen[bytes], logfile: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise base.Skip(f"{url} server exited {proc.returncode}: {base.tail(logfile.read_bytes())}")
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=1) as response:
            if response.status == 200:
                return
        time.sleep(0.05)
    raise base.Skip(f"{url} did not answer within {timeout:.0f}s")


def start_registries(
    stack: contextlib.ExitStack, root: Path, pids: dict[str, int] | None = None
) -> tuple[int, int]:
    """A fresh wharf-registry and Go docker-registry under ``root``; (wharf port, Go port).
    ``pids`` gets their process ids ("wharf", "go")."""
    root.mkdir()
    ports: list[int] = []
    for name in ("wharf", "go"):
        port = free_port()
        if name == "wharf":
            argv = [base.tool(base.VENV_BIN / "wharf-registry"), "--host", "127.0.0.1", "--port", str(port)]
            argv += ["--data-root", str(root / "wharf"), "--log-level", "warning"]
            url = f"http://127.0.0.1:{port}/v1/_ping"
        else:
            config = root / "go.yml"
            config.write_text(GO_CONFIG.format(root=root / "go", port=port))
            argv, url = [base.tool("docker-registry"), "serve", str(config)], f"http://127.0.0.1:{port}/v2/"
        logfile = root / f"{name}.log"
        with open(logfile, "wb") as out:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
        stack.callback(base.stop_process, proc, f"{name} registry")
        if pids is not None:
            pids[name] = proc.pid
        wait_http(url, proc, logfile)
        ports.append(port)
    return ports[0], ports[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- images --------------------------------------------------------------------------------------


def small_archive(tmp: Path, rng: random.Random) -> Path:
    """A ``docker load`` archive of 50 small layers (``docker build`` of 50 RUNs stops at 33 layers)."""
    out = tmp / "small-load.tar"
    diff_ids, names = [], []
    with tarfile.open(out, "w") as archive:
        for n in range(SMALL_LAYERS):
            layer = tmp / f"small-layer-{n}.tar"
            (tmp / "f").write_bytes(rng.randbytes(4096 + 512 * n))
            with tarfile.open(layer, "w") as tar:
                tar.add(tmp / "f", f"l{n:02d}.bin")
            diff_ids.append("sha256:" + hashlib.sha256(layer.read_bytes()).hexdigest())
            names.append(f"{n:02d}/layer.tar")
            archive.add(layer, names[-1])
            layer.unlink()
        config = json.dumps(
            {
                "architecture": "amd64",
                "os": "linux",
                "config": {"Cmd": ["/l00.bin"]},
                "rootfs": {"type": "layers", "diff_ids": diff_ids},
            }
        ).encode()
        manifest = json.dumps(
            [{"Config": "config.json", "RepoTags": ["bench/small:latest"], "Layers": names}]
        )
        for name, raw in (("config.json", config), ("manifest.json", manifest.encode())):
            (tmp / "f").write_bytes(raw)
            archive.add(tmp / "f", name)
    return out


def make_images(engine: net.Engine, tmp: Path, notes: list[str], small: bool) -> dict[str, tuple[Path, int]]:
    """``big`` and (``small``) ``small`` in the engine; name -> (docker save archive, layer bytes)."""
    docker = str(base.DOCKER)
    blob = tmp / "big.bin"
    rng = random.Random(SEED)
    with open(blob, "wb") as fh:
        for _ in range(BIG_BYTES // MIB):
            fh.write(rng.randbytes(MIB))
    with tarfile.open(tmp / "big-rootfs.tar", "w") as tar:
        tar.add(blob, "big.bin")
    run([docker, "import", str(tmp / "big-rootfs.tar"), "bench/big:latest"], engine.env)
    if small:
        run([docker, "load", "-i", str(small_archive(tmp, rng))], engine.env)
    found: dict[str, tuple[Path, int]] = {}
    for name in ("big", "small") if small else ("big",):
        archive = tmp / f"{name}.tar"
        run([docker, "save", "-o", str(archive), f"bench/{name}:latest"], engine.env)
        layers = tmp / f"{name}-layers"
        with tarfile.open(archive) as tar:
            tar.extractall(layers, filter="data")
        manifest = json.loads((layers / "manifest.json").read_text())
        config = json.loads((layers / manifest[0]["Config"]).read_text())
        size = sum((layers / p).stat().st_size for p in manifest[0]["Layers"])
        actual = [
            "sha256:" + hashlib.sha256((layers / p).read_bytes()).hexdigest() for p in manifest[0]["Layers"]
        ]
        bad = sum(a != b for a, b in zip(actual, config["rootfs"]["diff_ids"], strict=False))
        if bad:  # skopeo checks them: give it an archive whose config names the bytes it has
            notes.append(
                f"{name}: docker save wrote {bad} layer.tar whose sha256 is not its diff_id; fixed for skopeo"
            )
            config["rootfs"]["diff_ids"] = actual
            (layers / manifest[0]["Config"]).write_text(json.dumps(config))
            archive = tmp / f"{name}-fixed.tar"
            with tarfile.open(archive, "w") as tar:
                for member in ["manifest.json", manifest[0]["Config"], *manifest[0]["Layers"]]:
                    tar.add(layers / member, member)
        found[name] = (archive, size)
    return found


# --- one round -----------------------------------------------------------------------------------


def curl(*args: str) -> tuple[float, int, str]:
    """``curl`` that must give a 2xx: (seconds, bytes moved, stdout before the -w line)."""
    fmt = "%{http_code} %{time_total} %{size_upload} %{size_download}"
    argv = ["curl", "-sS", "-o", "/dev/null", "-w", fmt, *args]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
    fields = out.stdout.split()
    if out.returncode != 0 or len(fields) != 4 or not fields[0].startswith("2"):
        raise base.Skip(f"curl {shlex.join(args[-2:])}: {out.stdout} {base.tail(out.stderr)}")
    return float(fields[1]), int(float(fields[2])) + int(float(fields[3])), ""


def raw_round(tmp: Path, wport: int, gport: int, blob: Path, res: Results) -> None:
    """PUT, GET and 20 concurrent GETs of the 100 MiB blob against each registry."""
    data = blob.read_bytes()
    image_id = hashlib.sha256(str(time.time_ns()).encode()).hexdigest()
    meta = json.dumps({"id": image_id, "created": "2015-02-10T00:00:00Z", "os": "linux"}).encode()
    (tmp / "img.json").write_bytes(meta)
    payload = "sha256:" + hashlib.sha256(meta + b"\n" + data).hexdigest()
    v1 = f"http://127.0.0.1:{wport}/v1/images/{image_id}"
    curl("-X", "PUT", "--data-binary", f"@{tmp / 'img.json'}", f"{v1}/json")
    secs, _, _ = curl("-T", str(blob), f"{v1}/layer")
    res["raw-put"]["wharf"].append(BIG_BYTES / MIB / secs)
    curl("-X", "PUT", "-H", f"X-Docker-Checksum-Payload: {payload}", f"{v1}/checksum")
    wharf_get = f"{v1}/layer"

    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    v2 = f"http://127.0.0.1:{gport}/v2/bench/raw"
    argv = ["curl", "-sS", "-X", "POST", "-D", "-", "-o", "/dev/null", f"{v2}/blobs/uploads/"]
    head = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False).stdout
    location = next(
        (ln.split(":", 1)[1].strip() for ln in head.splitlines() if ln.lower().startswith("location:")), ""
    )
    if not location:
        raise base.Skip(f"v2 upload start gave no Location: {base.tail(head)}")
    if location.startswith("/"):
        location = f"http://127.0.0.1:{gport}{location}"
    sep = "&" if "?" in location else "?"
    secs, _, _ = curl(
        "-T", str(blob), "-H", "Content-Type: application/octet-stream", f"{location}{sep}digest={digest}"
    )
    res["raw-put"]["peer"].append(BIG_BYTES / MIB / secs)
    go_get = f"{v2}/blobs/{digest}"

    for who, url in (("wharf", wharf_get), ("peer", go_get)):
        secs, got, _ = curl(url)
        if got != BIG_BYTES:
            raise base.Skip(f"GET {url} gave {got} bytes")
        res["raw-get"][who].append(BIG_BYTES / MIB / secs)
    res["raw-put"]["floor"].append(BIG_BYTES / MIB / run(["cp", str(blob), str(tmp / "copy.bin")]))
    (tmp / "copy.bin").unlink()
    for who, url in (("peer", go_get), ("wharf", wharf_get)):
        start = time.perf_counter()
        procs = [
            subprocess.Popen(["curl", "-sS", "-f", "-o", "/dev/null", url], stdin=subprocess.DEVNULL)
            for _ in range(CONCURRENT)
        ]
        try:
            codes = [p.wait(timeout=300) for p in procs]
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
                    p.wait()
        secs = time.perf_counter() - start
        if any(codes):
            raise base.Skip(f"concurrent GETs from {who}: exit codes {codes}")
        res["concurrent"][who].append(CONCURRENT * BIG_BYTES / MIB / secs)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def image_round(
    engine: net.Engine,
    tmp: Path,
    wport: int,
    gport: int,
    images: dict[str, tuple[Path, int]],
    res: Results,
    pids: dict[str, int] | None = None,
    push_only: bool = False,
) -> None:
    """``pids``: "engine", "wharf" (registry): each push's CPU time; ``push_only``: that push, cp only."""
    docker, skopeo = str(base.DOCKER), base.tool("skopeo")
    for name, (archive, size) in images.items():
        mib = size / MIB
        ref = f"127.0.0.1:{wport}/bench/{name}:v1"
        run([docker, "tag", f"bench/{name}:latest", ref], engine.env)
        watched = {who: pid for who, pid in (pids or {}).items() if who in ("engine", "wharf")}
        before = {who: cpu_seconds(pid) for who, pid in watched.items()}
        res[f"push-{name}"]["wharf"].append(mib / run([docker, "push", ref], engine.env, 600))
        for who, pid in watched.items():
            res[f"push-{name}"].setdefault(f"{who}_cpu", []).append(cpu_seconds(pid) - before[who])
        floor = mib / run(["cp", "-r", str(tmp / f"{name}-layers"), str(tmp / "floor-copy")])
        run(["rm", "-rf", str(tmp / "floor-copy")])
        for row in ("push", "pull"):
            res[f"{row}-{name}"]["floor"].append(floor)
        run([docker, "rmi", ref, *([] if push_only else [f"bench/{name}:latest"])], engine.env)
        if push_only:
            continue
        res[f"pull-{name}"]["wharf"].append(mib / run([docker, "pull", ref], engine.env, 600))
        run([docker, "tag", ref, f"bench/{name}:latest"], engine.env)
        run([docker, "rmi", ref], engine.env)
        peer = f"docker://127.0.0.1:{gport}/bench/{name}:v1"
        secs = run(
            [skopeo, "copy", "-q", "--dest-tls-verify=false", f"docker-archive:{archive}", peer], timeout=600
        )
        res[f"push-{name}"]["peer"].append(mib / secs)
        dest = tmp / f"pulled-{name}"
        secs = run([skopeo, "copy", "-q", "--src-tls-verify=false", peer, f"dir:{dest}"], timeout=600)
        res[f"pull-{name}"]["peer"].append(mib / secs)
        run(["rm", "-rf", str(dest)])


# --- report --------------------------------------------------------------------------------------


def med(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def summary(res: Results) -> list[dict[str, Any]]:
    rows = []
    for key, label in ROWS.items():
        w, p, f = (med(res[key][k]) for k in ("wharf", "peer", "floor"))
        ratio = w / p if w is not None and p else None
        verdict = "n/a" if ratio is None else ("met" if ratio >= 1 else "MISSED")
        row: dict[str, Any] = {
            "key": key,
            "label": label,
            "wharf_mib_s": w,
            "peer_mib_s": p,
            "floor_mib_s": f,
            "ratio": ratio,
            "verdict": verdict,
            "samples": res[key],
        }
        if key == "push-big":  # issue 16's row: through the engine, beside the cp floor
            row["goal_mib_s"] = PUSH_GOAL
            row["goal_verdict"] = "n/a" if w is None else ("met" if w >= PUSH_GOAL else "not met")
            row["floor_fraction"] = w / f if w is not None and f else None
            row["engine_cpu_s"] = med(res[key].get("engine_cpu", []))
            row["registry_cpu_s"] = med(res[key].get("wharf_cpu", []))
        rows.append(row)
    return rows


def report(rows: list[dict[str, Any]], rounds: int, notes: list[str]) -> str:
    def num(v: float | None) -> str:
        return "-" if v is None else f"{v:.1f}"

    lines = [
        f"{'MiB/s (median)':<34} {'wharf':>8} {'peer':>8} {'w/peer':>7} {'floor':>8}  target wharf >= peer"
    ]
    for r in rows:
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:.2f}x"
        lines.append(
            f"{r['label']:<34} {num(r['wharf_mib_s']):>8} {num(r['peer_mib_s']):>8} {ratio:>7} "
            f"{num(r['floor_mib_s']):>8}  {r['verdict']}"
        )
    for r in rows:
        if "goal_mib_s" in r:
            cpu = [r["engine_cpu_s"], r["registry_cpu_s"]]
            lines.append(
                f"{r['label']} through the engine: {num(r['wharf_mib_s'])} MiB/s, cp floor "
                f"{num(r['floor_mib_s'])}, goal >= {r['goal_mib_s']:.0f}: {r['goal_verdict']}; CPU per push: "
                f"engine {'-' if cpu[0] is None else f'{cpu[0]:.2f} s'}, "
                f"registry {'-' if cpu[1] is None else f'{cpu[1]:.2f} s'}"
            )
    lines.append(
        f"{rounds} rounds; wharf: docker CLI -> wharf engine -> wharf-registry (v2 as it offers it); "
        "peer: skopeo / curl -> docker-registry (v2); floor: cp of the layer files"
    )
    lines += [f"note: {n}" for n in notes]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=3, help="rounds, each on fresh registries (default: 3)")
    parser.add_argument("--max-seconds", type=float, default=400.0, help="overall time budget (default: 400)")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    parser.add_argument("--image", type=Path, default=base.DEFAULT_IMAGE, help="busybox rootfs tar")
    parser.add_argument("--push-big-only", action="store_true", help="the big push through the engine only")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, base._terminate)

    deadline = time.monotonic() + args.max_seconds
    res: Results = {k: {"wharf": [], "peer": [], "floor": []} for k in ROWS}
    notes: list[str] = []
    done = 0
    with (
        tempfile.TemporaryDirectory(prefix="wharf-registry-bench-", ignore_cleanup_errors=True) as tmp_name,
        contextlib.ExitStack() as stack,
    ):
        tmp = Path(tmp_name)
        stack.callback(base.unmount_under, tmp)  # runs last: after every daemon has stopped
        try:
            engine = net.start_engine(stack, tmp, base.prepare_image(args.image.resolve()))
            base.log("building the images")
            images = make_images(engine, tmp, notes, small=not args.push_big_only)
            notes += [f"{n}: {s / MIB:.1f} MiB of layers" for n, (_, s) in images.items()]
            for r in range(max(args.rounds, 1)):
                if time.monotonic() >= deadline:
                    notes.append(f"--max-seconds reached after {done} rounds")
                    break
                base.log(f"round {r + 1}")
                with contextlib.ExitStack() as registries:
                    registries.callback(shutil.rmtree, tmp / f"registries-{r}", ignore_errors=True)
                    pids = {"engine": int((tmp / "engine.pid").read_text())}
                    wport, gport = start_registries(registries, tmp / f"registries-{r}", pids)
                    if not args.push_big_only:
                        raw_round(tmp, wport, gport, tmp / "big.bin", res)
                    image_round(engine, tmp, wport, gport, images, res, pids, args.push_big_only)
                done += 1
        except base.Skip as exc:
            notes.append(f"stopped: {exc}")
            base.log(f"stopped: {exc}")

    rows = summary(res)
    print(report(rows, done, notes))
    if args.json is not None:
        args.json.write_text(json.dumps({"rounds": done, "rows": rows, "notes": notes}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
