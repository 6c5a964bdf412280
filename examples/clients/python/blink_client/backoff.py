"""Reconnect pacing: exponential backoff with jitter and a cap (CLIENTS.md, "reconnect storms")."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """`base_s * 2**(failures - 1)`, capped at `cap_s`, plus a uniform 0..`jitter_s`."""

    base_s: float = 0.05
    cap_s: float = 2.0
    jitter_s: float = 0.2

    def delay_s(self, failures: int) -> float:
        """How long to wait before the next attempt after `failures` consecutive failures (>= 1)."""
        exponential_s = self.base_s * 2.0 ** min(max(failures - 1, 0), 32)
        return min(self.cap_s, exponential_s) + random.uniform(0.0, self.jitter_s)
