"""What the fake servers remember and what they were told to do.

Every request is recorded on arrival (``Recorded.at``, before any hang) and completed with
its answer (``status``, ``answered``, ``reply``) once the status line is written, or marked
``dropped`` when the client went away first: ``arrivals(channel)`` and ``exchanges(channel)``
read them per channel. A test (or the demo, through the control API of ``server.py``) can
queue one-shot failures per channel (``fail``), slow every answer down (``delays``), set a
rate limit (``limits``) or put a channel in a persistent fault ``mode`` (``set_mode``,
``clear_mode``; the modes are described in ``tests/fakes/modes.py``). All of it is
thread-safe: the fake serves many requests at once, like the real APIs.
"""

from __future__ import annotations

import bisect
import dataclasses
import threading
import time
from collections import defaultdict
from collections import deque
from dataclasses import dataclass
from dataclasses import field

# The fake HTTP APIs (their URL prefixes on the server) and the persistent modes they know.
CHANNELS = ("zalo", "graph", "telegram", "esms", "hooks")
MODES = ("hang", "trickle", "rate-limit")


@dataclass
class Recorded:
    """One request as the fake received it, and what it answered (None until it did)."""

    channel: str
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    json: object | None
    at: float  # arrival, time.time()
    status: int | None = None  # the HTTP status answered
    answered: float | None = None  # when the status line and headers went out
    reply: object | None = None  # the answer's JSON (None if it was not JSON)
    dropped: bool = False  # the client went away before any answer


@dataclass
class Mode:
    """A channel's persistent fault mode; ``released`` is set when it is cleared."""

    name: str
    options: dict
    released: threading.Event = field(default_factory=threading.Event)


@dataclass
class FakeState:
    """Shared by every fake channel of one server (one per test, or one for the demo)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: list[Recorded] = field(default_factory=list)
    failures: dict[str, deque] = field(default_factory=lambda: defaultdict(deque))
    delays: dict[str, float] = field(default_factory=dict)
    limits: dict[str, float] = field(default_factory=dict)
    modes: dict[str, Mode] = field(default_factory=dict)
    _windows: dict[str, list] = field(default_factory=lambda: defaultdict(list))
    extra: dict[str, object] = field(default_factory=dict)

    def record(self, item: Recorded) -> None:
        with self.lock:
            self.requests.append(item)

    def recorded(self, channel: str | None = None) -> list[Recorded]:
        with self.lock:
            return [r for r in self.requests if channel is None or r.channel == channel]

    def answer(self, item: Recorded, status: int, reply: object | None) -> None:
        """Complete a recorded request with the answer it is given."""
        with self.lock:
            item.status, item.reply, item.answered = status, reply, time.time()

    def drop(self, item: Recorded) -> None:
        """Mark a recorded request whose client went away before it was answered."""
        with self.lock:
            item.dropped = True

    def arrivals(self, channel: str) -> list[float]:
        """Return when each request of the channel arrived (time.time(), in arrival order),
        hung ones included."""
        with self.lock:
            return [r.at for r in self.requests if r.channel == channel]

    def exchanges(self, channel: str) -> list[Recorded]:
        """Return every request of the channel with its answer so far, as copies taken
        under the lock (a request still hanging has ``status`` None)."""
        with self.lock:
            return [dataclasses.replace(r) for r in self.requests if r.channel == channel]

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

    def set_mode(self, channel: str, mode: str, **options) -> None:
        """Put a channel in a persistent fault mode until ``clear_mode``: "hang",
        "trickle" (``seconds`` per byte, default 1) or "rate-limit" (``per_second`` and the
        channel's own options, see tests/fakes/modes.py). Replaces the channel's mode."""
        if channel not in CHANNELS:
            raise ValueError(f"no fake HTTP channel {channel!r}: one of {CHANNELS}")
        if mode not in MODES:
            raise ValueError(f"no fault mode {mode!r}: one of {MODES}")
        with self.lock:
            previous = self.modes.get(channel)
            self.modes[channel] = Mode(mode, dict(options))
        if previous is not None:
            previous.released.set()

    def clear_mode(self, channel: str) -> None:
        """End a channel's mode: hung requests go on and are answered normally."""
        with self.lock:
            mode = self.modes.pop(channel, None)
        if mode is not None:
            mode.released.set()

    def mode(self, channel: str) -> Mode | None:
        with self.lock:
            return self.modes.get(channel)

    def rate(self, channel: str, option: str = "per_second", key: str | None = None) -> float:
        """Return the limit in force: the channel's "rate-limit" mode ``option``, else
        ``limits[key or channel]``, else 0 (no limit)."""
        with self.lock:
            mode = self.modes.get(channel)
            if mode is not None and mode.name == "rate-limit" and option in mode.options:
                return float(mode.options[option])
            return float(self.limits.get(key or channel, 0))

    def over_limit(
        self, key: str, per_second: float | None = None, *, per: float = 1.0, at=None
    ) -> float | None:
        """Count one arrival for ``key`` (at ``at``, default now) and return the seconds to
        wait if the arrivals in the sliding ``per`` seconds up to it, itself included, are
        more than the limit (``per_second``, else ``limits[key]``; 0 or none: no limit),
        else None. Refused arrivals count too, as they do at a provider."""
        limit = per_second if per_second is not None else self.limits.get(key)
        if not limit:
            return None
        now = time.time() if at is None else at
        with self.lock:
            window = self._windows[key]
            del window[: bisect.bisect_right(window, now - per)]
            bisect.insort(window, now)
            inside = window[: bisect.bisect_right(window, now)]
            if len(inside) <= limit:
                return None
            # Accepted again once no more than limit - 1 of these are in the window.
            return max(0.0, inside[len(inside) - int(limit)] + per - now)

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.failures.clear()
            self.delays.clear()
            self.limits.clear()
            self._windows.clear()
            self.extra.clear()
            modes, self.modes = list(self.modes.values()), {}
        for mode in modes:
            mode.released.set()
