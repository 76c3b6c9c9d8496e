#!/usr/bin/env python3
"""Fail when a source module grows past 450 lines: split it by concept, as docs/ARCHITECTURE.md says."""

from __future__ import annotations

import subprocess
import sys

LIMIT = 450


def main() -> int:
    files = subprocess.run(
        ["git", "ls-files", "*.py"], capture_output=True, text=True, check=True
    ).stdout.split()
    too_big = []
    for name in files:
        with open(name, encoding="utf-8") as f:
            count = sum(1 for _ in f)
        if count > LIMIT:
            too_big.append(f"{name}: {count} lines (limit {LIMIT})")
    for line in too_big:
        sys.stderr.write(line + "\n")
    return 1 if too_big else 0


if __name__ == "__main__":
    sys.exit(main())
