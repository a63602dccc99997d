"""What the fake servers remember and what they were told to do.

Every request is recorded; a test (or the demo) can queue failures per channel, slow every
answer down, hang, or set a rate limit the fake enforces the way the provider does. All of
it is thread-safe: the fake serves many requests at once, like the real APIs.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections import deque
from dataclasses import dataclass
from dataclasses import field


@dataclass
class Recorded:
    """One request as the fake received it."""

    channel: str
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    json: object | None
    at: float


@dataclass
class FakeState:
    """Shared by every fake channel of one server (one per test, or one for the demo)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: list[Recorded] = field(default_factory=list)
    failures: dict[str, deque] = field(default_factory=lambda: defaultdict(deque))
    delays: dict[str, float] = field(default_factory=dict)
    limits: dict[str, float] = field(default_factory=dict)
    _windows: dict[str, deque] = field(default_factory=lambda: defaultdict(deque))
    extra: dict[str, object] = field(default_factory=dict)

    def record(self, item: Recorded) -> None:
        with self.lock:
            self.requests.append(item)

    def recorded(self, channel: str | None = None) -> list[Recorded]:
        with self.lock:
            return [r for r in self.requests if channel is None or r.channel == channel]

    def fail(self, channel: str, count: int = 1, **failure) -> None:
        """Queue ``count`` failures for the next requests of a channel (e.g. kind="error",
        code=-216; kind="http", status=500; kind="hang", seconds=30; kind="429", after=2)."""
        with self.lock:
            for _ in range(count):
                self.failures[channel].append(dict(failure))

    def next_failure(self, channel: str) -> dict | None:
        with self.lock:
            queue = self.failures.get(channel)
            return queue.popleft() if queue else None

    def over_limit(self, key: str, per_second: float | None = None) -> float | None:
        """Return seconds to wait if ``key`` exceeded its per-second limit (sliding 1 s
        window), else None and count this request."""
        limit = per_second if per_second is not None else self.limits.get(key)
        if not limit:
            return None
        now = time.monotonic()
        with self.lock:
            window = self._windows[key]
            while window and now - window[0] >= 1.0:
                window.popleft()
            if len(window) >= limit:
                return max(0.0, 1.0 - (now - window[0]))
            window.append(now)
            return None

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.failures.clear()
            self.delays.clear()
            self.limits.clear()
            self._windows.clear()
            self.extra.clear()
