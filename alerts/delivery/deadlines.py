"""Attempt deadlines for many concurrent senders, enforced by one sweeper.

``asyncio.timeout`` schedules a timer and cancels it again on every attempt: in
scripts/bench that was a sixth of the engine's own cost per delivery. The engine's
deadlines are seconds long (alerts/delivery/policy.py), so one sweeper task that looks at
every running attempt each ``TICK`` enforces them just as well, at the cost of a dict
entry per attempt: an attempt ends at most ``TICK`` after its deadline.

A cancellation always lands where the task is suspended, and a task is in ``due`` only
while it is suspended inside the attempt, so the sweeper's cancellation is always caught
by ``within`` (asyncio.timeout relies on the same). A stop requested at the same moment
(the drain cancelling its senders) is passed on, never swallowed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")

TICK = 0.05


class Deadlines:
    """The running attempts' deadlines on one event loop. The sweeper starts with the first
    attempt; ``stop`` it when no attempt is left (the drain does, at its end)."""

    def __init__(self, tick: float = TICK):
        self.tick = tick
        self.due: dict[asyncio.Task, float] = {}  # a task's running attempt: when it ends
        self.expired: set[asyncio.Task] = set()
        self.sweeper: asyncio.Task | None = None

    async def stop(self) -> None:
        if self.sweeper is not None:
            self.sweeper.cancel()
            await asyncio.gather(self.sweeper, return_exceptions=True)
            self.sweeper = None

    async def within(self, seconds: float, attempt: Awaitable[T]) -> T:
        """Await ``attempt``; raise TimeoutError if it runs past ``seconds``."""
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("Deadlines.within must run in a task")
        loop = asyncio.get_running_loop()
        if self.sweeper is None:
            self.sweeper = loop.create_task(self._sweep())
        self.due[task] = loop.time() + seconds
        try:
            result = await attempt
        except asyncio.CancelledError:
            if task not in self.expired:
                raise
            self.expired.discard(task)
            if task.uncancel() > 0:  # a stop was asked for as well: honour it
                raise
            raise TimeoutError from None
        finally:
            del self.due[task]
        if task in self.expired:  # the attempt swallowed the cancellation: take it back
            self.expired.discard(task)
            task.uncancel()
        return result

    async def _sweep(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.tick)
            self.expire(loop.time())

    def expire(self, now: float) -> None:
        """Cancel every attempt whose deadline has passed by ``now``."""
        for task, when in self.due.items():
            if when <= now and task not in self.expired:
                self.expired.add(task)
                task.cancel()
