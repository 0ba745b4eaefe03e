"""Time bounds for "fails fast" tests that stay meaningful on a loaded machine.

A complexity bug (quadratic scans, allocation before a length check) makes every attempt
slow; load from other processes makes only some attempts slow. So a bound is checked on
the fastest of a few attempts, and extra attempts are made only when one is over budget.
"""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["fastest"]


def fastest(run: Callable[[], object], *, budget: float, attempts: int = 5) -> float:
    """Seconds of the fastest call of ``run``, stopping at the first within ``budget``."""
    best = float("inf")
    for _ in range(attempts):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
        if best < budget:
            break
    return best
