"""The engine's attempt deadlines (alerts/delivery/deadlines.py): one sweeper ends every
attempt that runs past its deadline, and a real stop is never mistaken for a deadline."""

from __future__ import annotations

import asyncio
import time

import pytest

from alerts.delivery.deadlines import Deadlines


async def stubborn() -> str:
    """An attempt that swallows its cancellation (a library cleaning up badly)."""
    try:
        await asyncio.sleep(30)
    except asyncio.CancelledError:
        return "swallowed"
    return "slept"


async def test_an_attempt_in_time_returns_its_result_and_leaves_nothing_behind():
    deadlines = Deadlines(tick=0.01)
    assert await deadlines.within(1.0, asyncio.sleep(0.02, result="sent")) == "sent"
    assert not deadlines.due and not deadlines.expired
    await deadlines.stop()
    assert deadlines.sweeper is None


async def test_an_attempt_past_its_deadline_ends_within_a_tick_and_the_sender_goes_on():
    deadlines = Deadlines(tick=0.01)
    began = time.monotonic()
    with pytest.raises(TimeoutError):
        await deadlines.within(0.05, asyncio.sleep(30))
    assert 0.05 <= time.monotonic() - began < 0.5
    # The same task's next attempt is not cancelled by what happened before.
    assert await deadlines.within(1.0, asyncio.sleep(0.02, result="next")) == "next"
    assert asyncio.current_task().cancelling() == 0
    await deadlines.stop()


async def test_many_senders_each_get_their_own_deadline():
    deadlines = Deadlines(tick=0.01)

    async def sender(seconds: float) -> str:
        try:
            return await deadlines.within(0.1, asyncio.sleep(seconds, result="sent"))
        except TimeoutError:
            return "timeout"

    found = await asyncio.gather(*(sender(s) for s in (0.01, 5, 0.02, 5)))
    assert found == ["sent", "timeout", "sent", "timeout"]
    await deadlines.stop()


async def test_stopping_a_sender_is_never_taken_for_a_deadline():
    deadlines = Deadlines(tick=0.01)
    sender = asyncio.create_task(deadlines.within(5.0, asyncio.sleep(30)))
    await asyncio.sleep(0.03)
    sender.cancel()
    with pytest.raises(asyncio.CancelledError):
        await sender
    assert not deadlines.due
    await deadlines.stop()


async def test_a_stop_at_the_moment_the_deadline_passes_is_still_a_stop():
    deadlines = Deadlines(tick=60.0)
    sender = asyncio.create_task(deadlines.within(0.02, asyncio.sleep(30)))
    await asyncio.sleep(0)  # the sender is inside its attempt
    deadlines.expire(asyncio.get_running_loop().time() + 1)  # what the sweeper does
    sender.cancel()  # and in the same moment the drain stops
    with pytest.raises(asyncio.CancelledError):
        await sender
    assert not deadlines.due and not deadlines.expired
    await deadlines.stop()


async def test_an_attempt_that_swallows_the_cancellation_leaves_the_task_clean():
    deadlines = Deadlines(tick=0.01)

    assert await deadlines.within(0.02, stubborn()) == "swallowed"
    assert not deadlines.expired and asyncio.current_task().cancelling() == 0
    assert await deadlines.within(1.0, asyncio.sleep(0.01, result="next")) == "next"
    await deadlines.stop()


async def test_an_attempt_that_raises_something_else_when_cut_off_is_still_a_timeout():
    deadlines = Deadlines(tick=0.01)

    async def cleanup_fails() -> None:
        try:
            await asyncio.sleep(30)
        finally:
            raise ConnectionResetError("closing the connection failed")

    with pytest.raises(TimeoutError):  # it may have been sent: not a client error
        await deadlines.within(0.02, cleanup_fails())
    assert not deadlines.expired and asyncio.current_task().cancelling() == 0
    with pytest.raises(TimeoutError):  # and the next attempt has its deadline again
        await deadlines.within(0.02, asyncio.sleep(30))
    await deadlines.stop()


async def test_a_stop_swallowed_by_the_attempt_with_the_deadline_is_still_a_stop():
    deadlines = Deadlines(tick=60.0)

    sender = asyncio.create_task(deadlines.within(5.0, stubborn()))
    await asyncio.sleep(0)
    deadlines.expire(asyncio.get_running_loop().time() + 10)
    sender.cancel()
    with pytest.raises(asyncio.CancelledError):
        await sender
    await deadlines.stop()


async def test_every_drain_gets_a_sweeper_even_after_a_stop_was_interrupted():
    deadlines = Deadlines(tick=0.01)
    with pytest.raises(TimeoutError):
        await deadlines.within(0.02, asyncio.sleep(30))
    stopping = asyncio.create_task(deadlines.stop())
    await asyncio.sleep(0)
    stopping.cancel()  # the drain stopping it was itself stopped
    await asyncio.gather(stopping, return_exceptions=True)
    began = time.monotonic()
    with pytest.raises(TimeoutError):  # the next drain's attempt still has a deadline
        await deadlines.within(0.05, asyncio.sleep(30))
    assert time.monotonic() - began < 1.0
    await deadlines.stop()
