"""Attempt deadlines for many concurrent senders, enforced by one sweeper.

``asyncio.timeout`` schedules a timer and cancels it again on every attempt: in
scripts/bench that was a sixth of the engine's own cost per delivery. The engine's
deadlines are seconds long (alerts/delivery/policy.py), so one sweeper task that looks at
every running attempt each ``TICK`` enforces them just as well, at the cost of a dict
entry per attempt: an attempt ends at most ``TICK`` after its deadline.

A cancellation always lands where the task is suspended, and a task is in ``due`` only
while it is suspended inside the attempt, so the sweeper's cancellation always ends in
``within`` (asyncio.timeout relies on the same). However the attempt ends, ``within``
takes the sweeper's cancellation back, so the sender's next attempt starts clean; a stop
requested at the same moment (the drain cancelling its senders) is passed on, never
swallowed.
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
        """Stop the sweeper (the next attempt starts another)."""
        sweeper, self.sweeper = self.sweeper, None
        if sweeper is not None:
            sweeper.cancel()
            await asyncio.gather(sweeper, return_exceptions=True)

    async def within(self, seconds: float, attempt: Awaitable[T]) -> T:
        """Await ``attempt``; raise TimeoutError if it runs past ``seconds`` (whatever the
        attempt then raised: it may have been sent), CancelledError if the task was also
        asked to stop."""
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("Deadlines.within must run in a task")
        loop = asyncio.get_running_loop()
        if self.sweeper is None or self.sweeper.done():
            self.sweeper = loop.create_task(self._sweep())
        self.due[task] = loop.time() + seconds
        try:
            result = await attempt
        except BaseException as error:
            expired = self._settle(task)
            if expired is None or (not expired and isinstance(error, asyncio.CancelledError)):
                raise
            if expired:
                raise TimeoutError from error
            raise asyncio.CancelledError from error  # a stop as well: never lose it
        finally:
            del self.due[task]
        if self._settle(task) is False:  # the attempt swallowed a stop with the deadline
            raise asyncio.CancelledError
        return result

    def _settle(self, task: asyncio.Task) -> bool | None:
        """Take back the sweeper's cancellation of ``task``, if it made one: None if it
        did not, True if that was all, False if a stop was asked for as well."""
        if task not in self.expired:
            return None
        self.expired.discard(task)
        return task.uncancel() == 0

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
