"""What the lab's long runs print on the terminal: a progress bar and the board by wing."""

from __future__ import annotations

import sys
import time
from collections import Counter, defaultdict
from typing import Any


def progress_printer(label: str) -> Any:
    state = {"last": 0.0}

    def show(clock: str, done: int, total: int) -> None:
        now = time.monotonic()
        if done == total or now - state["last"] > 0.5:
            state["last"] = now
            width = 30
            filled = int(width * done / max(total, 1))
            sys.stderr.write(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}  clock {clock[:16]}Z ")
            if done == total:
                sys.stderr.write("\n")
            sys.stderr.flush()

    return show


def board_summary(board: list[dict[str, Any]]) -> str:
    by_wing: dict[str, Counter[str]] = defaultdict(Counter)
    for row in board:
        by_wing[row["wing"]][row["light"]] += 1
    lines = [f"{'wing':<6}{'red':>6}{'amber':>7}{'green':>7}{'insuff.':>9}{'out':>6}"]
    for wing in sorted(by_wing):
        c = by_wing[wing]
        out = c["released"] + c["transferred"]
        lines.append(f"{wing:<6}{c['red']:>6}{c['amber']:>7}{c['green']:>7}{c['insufficient']:>9}{out:>6}")
    return "\n".join(lines)


__all__ = ["board_summary", "progress_printer"]
