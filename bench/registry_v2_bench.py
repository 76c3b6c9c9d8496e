"""Registry v2 throughput: wharf-registry's v2 API next to the Go registry (Debian's ``docker-registry``).

Both registries speak v2 here, so every row drives both with the same client. Two OCI layouts are made
once: ``big``, one 100 MiB layer (a tar of seeded random bytes), and ``small``, 50 small layers. Each
round starts a fresh ``wharf-registry`` and a fresh ``docker-registry`` (filesystem storage in the temp
dir) on free 127.0.0.1 ports, then times, against each:

- ``skopeo copy`` of each layout to the registry (push) and back to a ``dir:`` (pull);
- a raw 100 MiB blob upload (``POST`` then one ``PUT ?digest=`` with the body) and ``GET``, with curl;
- 20 concurrent curl GETs of that blob (total MiB/s).

Throughput is layer bytes over wall time, MiB/s; the table gives medians and wharf / Go. Nothing is
sent anywhere but 127.0.0.1. On the way out (SIGTERM included) every process is stopped by pid and the
temp dir removed.

Usage: ``.venv/bin/python bench/registry_v2_bench.py [--rounds 3] [--max-seconds 300] [--json PATH]``
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import random
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

# bench/bench.py and bench/registry_bench.py, whose helpers this reuses (see registry_bench.py)
if TYPE_CHECKING:
    from bench import bench as base
    from bench import registry_bench as v1bench
else:
    import registry_bench as v1bench

    import bench as base

MIB = 1 << 20
BIG_BYTES, SMALL_LAYERS, CONCURRENT, SEED = 100 * MIB, 50, 20, 20240611
ROWS = {
    "push-big": "v2 push 1x100 MiB (skopeo)",
    "pull-big": "v2 pull 1x100 MiB (skopeo)",
    "push-small": f"v2 push {SMALL_LAYERS} layers (skopeo)",
    "pull-small": f"v2 pull {SMALL_LAYERS} layers (skopeo)",
    "raw-put": "v2 blob POST+PUT (curl)",
    "raw-get": "v2 blob GET (curl)",
    "concurrent": f"v2 {CONCURRENT} concurrent GETs (total)",
}
Results = dict[str, dict[str, list[float]]]  # row -> wharf | peer -> MiB/s samples
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def layout(path: Path, layers: list[bytes]) -> int:
    """An OCI layout of uncompressed ``layers`` at ``path``; their total size."""
    blobs = path / "blobs" / "sha256"
    blobs.mkdir(parents=True)

    def put(data: bytes) -> str:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        (blobs / digest[7:]).write_bytes(data)
        return digest

    rootfs = {"type": "layers", "diff_ids": [put(x) for x in layers]}
    config = json.dumps(
        {"architecture": "amd64", "os": "linux", "config": {"Cmd": ["/bin/true"]}, "rootfs": rootfs}
    ).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": put(config),
                "size": len(config),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": "sha256:" + hashlib.sha256(x).hexdigest(),
                    "size": len(x),
                }
                for x in layers
            ],
        }
    ).encode()
    ref = {"org.opencontainers.image.ref.name": "latest"}
    index = {
        "schemaVersion": 2,
        "manifests": [
            {"mediaType": OCI_MANIFEST, "digest": put(manifest), "size": len(manifest), "annotations": ref}
        ],
    }
    (path / "index.json").write_text(json.dumps(index))
    (path / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    return sum(len(x) for x in layers)


def tar_of(name: str, data: bytes) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def make_layouts(tmp: Path) -> dict[str, int]:
    rng = random.Random(SEED)
    (tmp / "big.bin").write_bytes(rng.randbytes(BIG_BYTES))
    sizes = {"big": layout(tmp / "big", [tar_of("big.bin", (tmp / "big.bin").read_bytes())])}
    small = [tar_of(f"l{n:02d}.bin", rng.randbytes(4096 + 512 * n)) for n in range(SMALL_LAYERS)]
    sizes["small"] = layout(tmp / "small", small)
    return sizes


def image_round(tmp: Path, ports: dict[str, int], sizes: dict[str, int], res: Results) -> None:
    skopeo = base.tool("skopeo")
    for name, size in sizes.items():
        mib = size / MIB
        for who, port in ports.items():
            ref = f"docker://127.0.0.1:{port}/bench/{name}:v2"
            source = f"oci:{tmp / name}:latest"
            secs = v1bench.run([skopeo, "copy", "-q", "--dest-tls-verify=false", source, ref], timeout=600)
            res[f"push-{name}"][who].append(mib / secs)
            dest = tmp / f"pulled-{name}-{who}"
            secs = v1bench.run(
                [skopeo, "copy", "-q", "--src-tls-verify=false", ref, f"dir:{dest}"], timeout=600
            )
            res[f"pull-{name}"][who].append(mib / secs)
            shutil.rmtree(dest, ignore_errors=True)


def raw_round(tmp: Path, ports: dict[str, int], res: Results) -> None:
    blob = tmp / "big.bin"
    digest = "sha256:" + hashlib.sha256(blob.read_bytes()).hexdigest()
    for who, port in ports.items():
        repo = f"http://127.0.0.1:{port}/v2/bench/raw{time.time_ns()}"
        start = time.perf_counter()
        argv = ["curl", "-sS", "-X", "POST", "-D", "-", "-o", "/dev/null", f"{repo}/blobs/uploads/"]
        head = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False).stdout
        location = next(
            (ln.split(":", 1)[1].strip() for ln in head.splitlines() if ln.lower().startswith("location:")),
            "",
        )
        if not location:
            raise base.Skip(f"{who}: the upload start gave no Location: {base.tail(head)}")
        if location.startswith("/"):
            location = f"http://127.0.0.1:{port}{location}"
        sep = "&" if "?" in location else "?"
        v1bench.curl(
            "-T", str(blob), "-H", "Content-Type: application/octet-stream", f"{location}{sep}digest={digest}"
        )
        res["raw-put"][who].append(BIG_BYTES / MIB / (time.perf_counter() - start))
        url = f"{repo}/blobs/{digest}"
        secs, got, _ = v1bench.curl(url)
        if got != BIG_BYTES:
            raise base.Skip(f"GET {url} gave {got} bytes")
        res["raw-get"][who].append(BIG_BYTES / MIB / secs)
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
        if any(codes):
            raise base.Skip(f"concurrent GETs from {who}: exit codes {codes}")
        res["concurrent"][who].append(CONCURRENT * BIG_BYTES / MIB / (time.perf_counter() - start))


def summary(res: Results) -> list[dict[str, Any]]:
    rows = []
    for key, label in ROWS.items():
        w, p = v1bench.med(res[key]["wharf"]), v1bench.med(res[key]["peer"])
        ratio = w / p if w is not None and p else None
        verdict = "n/a" if ratio is None else ("met" if ratio >= 1 else "MISSED")
        rows.append(
            {
                "key": key,
                "label": label,
                "wharf_mib_s": w,
                "peer_mib_s": p,
                "ratio": ratio,
                "verdict": verdict,
                "samples": res[key],
            }
        )
    return rows


def report(rows: list[dict[str, Any]], rounds: int, notes: list[str]) -> str:
    def num(v: float | None) -> str:
        return "-" if v is None else f"{v:.1f}"

    lines = [f"{'MiB/s (median)':<38} {'wharf':>8} {'Go':>8} {'w/Go':>7}  target wharf >= Go"]
    for r in rows:
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:.2f}x"
        lines.append(
            f"{r['label']:<38} {num(r['wharf_mib_s']):>8} {num(r['peer_mib_s']):>8} {ratio:>7}  "
            f"{r['verdict']}"
        )
    lines.append(
        f"{rounds} rounds; the same client (skopeo, curl) against wharf-registry's v2 API and "
        "docker-registry 2.8"
    )
    lines += [f"note: {n}" for n in notes]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=3, help="rounds, each on fresh registries (default: 3)")
    parser.add_argument("--max-seconds", type=float, default=300.0, help="overall time budget (default: 300)")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    parser.add_argument("--only", choices=["raw", "images"], help="only the raw or the skopeo rows")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, base._terminate)

    deadline = time.monotonic() + args.max_seconds
    res: Results = {k: {"wharf": [], "peer": []} for k in ROWS}
    notes: list[str] = []
    done = 0
    with tempfile.TemporaryDirectory(prefix="wharf-registry-v2-bench-", ignore_cleanup_errors=True) as name:
        tmp = Path(name)
        try:
            base.log("making the layouts")
            sizes = make_layouts(tmp)
            for r in range(max(args.rounds, 1)):
                if time.monotonic() >= deadline:
                    notes.append(f"--max-seconds reached after {done} rounds")
                    break
                base.log(f"round {r + 1}")
                with contextlib.ExitStack() as registries:
                    registries.callback(shutil.rmtree, tmp / f"registries-{r}", ignore_errors=True)
                    wport, gport = v1bench.start_registries(registries, tmp / f"registries-{r}")
                    ports = {"wharf": wport, "peer": gport} if r % 2 == 0 else {"peer": gport, "wharf": wport}
                    if args.only != "images":
                        raw_round(tmp, ports, res)
                    if args.only != "raw":
                        image_round(tmp, ports, sizes, res)
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
