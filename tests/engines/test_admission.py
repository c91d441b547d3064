import asyncio

import pytest

from hearth.engines import admission as admission_module
from hearth.engines.admission import AGING_SECONDS, Admission
from hearth.errors import Overloaded


def test_requests_beyond_slots_wait_in_order_and_a_full_queue_is_refused() -> None:
    async def scenario() -> list[int]:
        admission = Admission(slots=1, max_queue=2)
        order: list[int] = []
        release = asyncio.Event()

        async def worker(n: int) -> None:
            async with admission.slot():
                order.append(n)
                await release.wait()

        tasks = [asyncio.create_task(worker(n)) for n in range(3)]
        await asyncio.sleep(0.01)
        assert (admission.active, admission.waiting) == (1, 2)
        with pytest.raises(Overloaded) as err:
            async with admission.slot():
                pass
        assert err.value.retry_after >= 1
        release.set()
        await asyncio.gather(*tasks)
        assert admission.depth == 0
        return order

    assert asyncio.run(scenario()) == [0, 1, 2]


def test_a_cancelled_waiter_gives_its_place_back() -> None:
    async def scenario() -> int:
        admission = Admission(slots=1, max_queue=1)
        hold = asyncio.Event()

        async def holder() -> None:
            async with admission.slot():
                await hold.wait()

        first = asyncio.create_task(holder())
        await asyncio.sleep(0)
        waiter = asyncio.create_task(holder())
        await asyncio.sleep(0.01)
        waiter.cancel()
        await asyncio.sleep(0.01)
        hold.set()
        await first
        return admission.depth

    assert asyncio.run(scenario()) == 0


# --- priority, aging and eviction -------------------------------------------------------


class FakeClock:
    """Admission's clock, moved by hand so that arrival times are exact."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    # The module's ``time`` is replaced, not ``time.monotonic`` itself: the event loop reads
    # the real one for its timers.
    fake = FakeClock()
    monkeypatch.setattr(admission_module, "time", fake)
    return fake


async def arrive(admission: Admission, order: list[str], name: str,
                 priority: int) -> asyncio.Task[None]:
    """A request that queues now (at the clock's time) and notes when it gets its slot."""
    async def request() -> None:
        async with admission.slot(priority):
            order.append(name)

    task = asyncio.create_task(request())
    await asyncio.sleep(0)  # it runs up to its wait in the queue
    return task


@pytest.mark.parametrize(("gap", "expected"), [
    (1.0, ["enterprise", "free"]),
    (19.0, ["enterprise", "free"]),   # still inside the 2-level head start (20 s)
    (21.0, ["free", "enterprise"]),   # the free request has waited longer than the head start
])
def test_a_higher_plan_goes_first_unless_a_lower_one_has_waited_past_its_head_start(
        clock: FakeClock, gap: float, expected: list[str]) -> None:
    assert AGING_SECONDS == 10

    async def scenario() -> list[str]:
        admission = Admission(slots=1, max_queue=4)
        order: list[str] = []
        async with admission.slot():
            free = await arrive(admission, order, "free", priority=0)
            clock.now += gap
            enterprise = await arrive(admission, order, "enterprise", priority=2)
            assert (admission.active, admission.waiting) == (1, 2)
        await asyncio.gather(free, enterprise)
        assert admission.depth == 0
        return order

    assert asyncio.run(scenario()) == expected


def test_a_full_queue_lets_a_higher_newcomer_evict_the_last_in_line_but_refuses_the_rest(
        clock: FakeClock) -> None:
    async def scenario() -> list[str]:
        admission = Admission(slots=1, max_queue=2)
        order: list[str] = []
        async with admission.slot():
            first = await arrive(admission, order, "pro-1", priority=1)
            clock.now += 1
            last = await arrive(admission, order, "pro-2", priority=1)
            clock.now += 1

            enterprise = await arrive(admission, order, "enterprise", priority=2)
            with pytest.raises(Overloaded) as evicted:
                await last
            assert evicted.value.retry_after >= 1

            clock.now += 1
            for equal_or_lower in (1, 0):
                with pytest.raises(Overloaded):
                    async with admission.slot(equal_or_lower):
                        order.append(f"refused newcomer {equal_or_lower}")
            assert admission.waiting == 2
        await asyncio.gather(first, enterprise)
        return order

    assert asyncio.run(scenario()) == ["enterprise", "pro-1"]


def test_a_cancelled_waiter_makes_room_in_a_full_queue() -> None:
    async def scenario() -> list[str]:
        admission = Admission(slots=1, max_queue=1)
        order: list[str] = []
        async with admission.slot():
            cancelled = await arrive(admission, order, "cancelled", priority=0)
            with pytest.raises(Overloaded):
                async with admission.slot(0):
                    pass
            cancelled.cancel()
            with pytest.raises(asyncio.CancelledError):
                await cancelled
            assert admission.waiting == 0
            newcomer = await arrive(admission, order, "newcomer", priority=0)
        await newcomer
        assert admission.depth == 0
        return order

    assert asyncio.run(scenario()) == ["newcomer"]


def test_a_waiter_cancelled_just_as_it_was_handed_the_slot_passes_it_on() -> None:
    async def scenario() -> list[str]:
        admission = Admission(slots=1, max_queue=2)
        order: list[str] = []
        async with admission.slot():
            first = await arrive(admission, order, "first", priority=0)
            second = await arrive(admission, order, "second", priority=0)
        # The slot went to ``first``, which has not run yet; cancel it before it does.
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        await second
        assert admission.depth == 0
        return order

    assert asyncio.run(scenario()) == ["second"]
