import asyncio

import pytest

from hearth.engines.admission import Admission
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
