"""A one-line progress bar for commands: redrawn in place on a terminal, plain lines otherwise."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

BAR_WIDTH = 30


@dataclass
class Counts:
    total: int
    done: int = 0
    failed: int = 0

    @property
    def pending(self) -> int:
        return self.total - self.done - self.failed


def render_bar(counts: Counts, width: int = BAR_WIDTH) -> str:
    """`[████████░░░░…]  12/50  done 10  failed 2  pending 38` (failures drawn as `▒`)."""
    total = max(counts.total, 1)
    done_cells = counts.done * width // total
    failed_cells = min((counts.done + counts.failed) * width // total - done_cells, width - done_cells)
    bar = "█" * done_cells + "▒" * failed_cells + "░" * (width - done_cells - failed_cells)
    finished = counts.done + counts.failed
    return (
        f"[{bar}] {finished:>{len(str(counts.total))}}/{counts.total}"
        f"  done {counts.done}  failed {counts.failed}  pending {counts.pending}"
    )


class Progress:
    """Reports runs as they finish. On a TTY one line is redrawn with `\\r`; otherwise one plain
    line per finished run, so logs and CI output stay readable."""

    def __init__(self, total: int, *, tty: bool, write: Callable[[str, str], None]) -> None:
        self.counts = Counts(total=total)
        self.tty = tty
        self._write = write  # (text, ending)
        if tty:
            self._draw()

    def finished(self, label: str, status: str, ok: bool) -> None:
        if ok:
            self.counts.done += 1
        else:
            self.counts.failed += 1
        if self.tty:
            self._draw()
        else:
            finished = self.counts.done + self.counts.failed
            self._write(f"[{finished}/{self.counts.total}] {label}: {status}", "\n")

    def close(self) -> None:
        if self.tty:
            self._write("", "\n")

    def _draw(self) -> None:
        self._write(f"\r\033[K{render_bar(self.counts)}", "")
