"""Columns like Go's ``text/tabwriter`` as docker configures it (min width 10, padding 3, spaces)."""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see wharf_client.lean)
if TYPE_CHECKING:
    from collections.abc import Sequence


MIN_WIDTH = 10
PADDING = 3


def _display_width(text: str) -> int:
    return len(text)


def tabulate(lines: Sequence[str], min_width: int = MIN_WIDTH, padding: int = PADDING) -> str:
    """Align tab-separated ``lines``; text after the last tab of a line is not a cell and is not padded.

    Like tabwriter, a column's width is computed over the consecutive lines that have that cell.
    """
    rows = [line.split("\t") for line in lines]
    widths_per_row: list[list[int]] = [[0] * (len(row) - 1) for row in rows]
    column = 0
    while True:
        start = None
        active = False
        for index, row in enumerate([*rows, []]):
            has_cell = len(row) - 1 > column
            if has_cell:
                active = True
                if start is None:
                    start = index
            elif start is not None:
                block = range(start, index)
                width = max(_display_width(rows[i][column]) + padding for i in block)
                width = max(width, min_width)
                for i in block:
                    widths_per_row[i][column] = width
                start = None
        if not active:
            break
        column += 1
    out: list[str] = []
    for row, widths in zip(rows, widths_per_row, strict=True):
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        out.append("".join(cells) + row[-1])
    return "\n".join(out) + ("\n" if out else "")
