"""The generic group-commit Batcher: batches under concurrency, per-batch errors, timeouts, close."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import pytest

from hookinbox.errors import StoreUnavailable
from hookinbox.stores._groupcommit import Batcher
from tests.toolkit import wait_for


class GatedWrite:
    """A batch write that records each batch and, while ``gate`` is clear, blocks inside the write."""

    def __init__(self, fail_on: object = None) -> None:
        self.batches: list[list[int]] = []
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()
        self.fail_on = fail_on

    def __call__(self, items: Sequence[int]) -> list[str]:
        self.batches.append(list(items))
        self.entered.set()
        assert self.gate.wait(10)
        if self.fail_on in items:
            raise ConnectionError("password=secret in the driver message")
        return [f"r{i}" for i in items]

    def hold(self) -> None:
        self.gate.clear()
        self.entered.clear()


def queued(b: Batcher[int, str]) -> int:
    return len(b._items)


def test_async_callers_are_written_in_one_batch_while_the_writer_is_busy() -> None:
    write = GatedWrite()
    b: Batcher[int, str] = Batcher(write, max_batch=200)

    async def main() -> list[str]:
        write.hold()
        first = asyncio.ensure_future(b.arun(0))
        await asyncio.to_thread(write.entered.wait, 5)  # the writer is inside the first write
        rest = [asyncio.ensure_future(b.arun(i)) for i in range(1, 100)]
        await asyncio.sleep(0)
        assert queued(b) == 99
        write.gate.set()
        return await asyncio.gather(first, *rest)

    try:
        assert asyncio.run(main()) == [f"r{i}" for i in range(100)]  # each caller gets its own result
        assert write.batches == [[0], list(range(1, 100))]
    finally:
        b.close()


def test_threads_are_batched_and_max_batch_splits() -> None:
    write = GatedWrite()
    b: Batcher[int, str] = Batcher(write, max_batch=10)
    write.hold()
    with ThreadPoolExecutor(40) as pool:
        first = pool.submit(b.run, 0)
        assert write.entered.wait(5)
        futures = [pool.submit(b.run, i) for i in range(1, 36)]
        wait_for(lambda: queued(b) == 35)
        write.gate.set()
        assert first.result(5) == "r0"
        assert [f.result(5) for f in futures] == [f"r{i}" for i in range(1, 36)]
    b.close()
    assert [len(batch) for batch in write.batches] == [1, 10, 10, 10, 5]
    assert sorted(i for batch in write.batches for i in batch) == list(range(36))


def test_a_failing_item_fails_alone_and_the_rest_of_its_batch_is_written(caplog: pytest.LogCaptureFixture) -> None:
    """A batch write that raises is tried item by item: only the poison item fails, as unavailable."""
    write = GatedWrite(fail_on=5)
    b: Batcher[int, str] = Batcher(write, max_batch=200)

    async def main() -> list[object]:
        write.hold()
        first = asyncio.ensure_future(b.arun(0))
        await asyncio.to_thread(write.entered.wait, 5)
        mixed = [asyncio.ensure_future(b.arun(i)) for i in range(1, 10)]  # 5 is among them
        await asyncio.sleep(0)
        write.gate.set()
        out = await asyncio.gather(first, *mixed, return_exceptions=True)
        out.append(await b.arun(42))  # the next batch is written afresh
        return out

    try:
        out = asyncio.run(main())
        assert b.health() is None  # the last write succeeded
    finally:
        b.close()
    assert out[0] == "r0" and out[-1] == "r42"
    assert out[1:5] == ["r1", "r2", "r3", "r4"] and out[6:10] == ["r6", "r7", "r8", "r9"]
    poison = out[5]
    assert isinstance(poison, StoreUnavailable)
    assert write.batches[1] == list(range(1, 10))  # one batch first, then each item alone
    assert write.batches[2:11] == [[i] for i in range(1, 10)]
    assert "ConnectionError" in str(poison) and "secret" not in str(poison)
    assert "secret" not in caplog.text and "ConnectionError" in caplog.text
    with pytest.raises(StoreUnavailable):  # a sync caller sees the same mapping
        b2: Batcher[int, str] = Batcher(GatedWrite(fail_on=1))
        try:
            b2.run(1)
        finally:
            assert b2.health() is not None and "ConnectionError" in str(b2.health())
            b2.close()


def test_a_batch_failing_for_everyone_fails_every_caller_with_its_own_exception() -> None:
    """When every item fails (the store is down), each caller gets its own StoreUnavailable."""
    b: Batcher[int, str] = Batcher(lambda items: (_ for _ in ()).throw(ConnectionError("down")), max_batch=200)

    async def main() -> list[object]:
        return await asyncio.gather(*(b.arun(i) for i in range(5)), return_exceptions=True)

    try:
        out = asyncio.run(main())
    finally:
        b.close()
    assert all(isinstance(e, StoreUnavailable) for e in out)
    assert len({id(e) for e in out}) == 5


def test_a_write_returning_the_wrong_number_of_results_is_retried_item_by_item() -> None:
    write = GatedWrite()
    b: Batcher[int, str] = Batcher(lambda items: write(items)[:1])  # one result, whatever the batch
    write.hold()
    try:
        with ThreadPoolExecutor(4) as pool:
            first = pool.submit(b.run, 0)
            assert write.entered.wait(5)
            two = [pool.submit(b.run, 1), pool.submit(b.run, 2)]
            wait_for(lambda: queued(b) == 2)
            write.gate.set()
            assert first.result(5) == "r0"
            # a batch of two got one result: neither caller can trust it; each is written alone
            assert [f.result(5) for f in two] == ["r1", "r2"]
        assert write.batches[1:] == [[1, 2], [1], [2]]
        assert b.run(3) == "r3"
    finally:
        b.close()


def test_a_caller_waits_at_most_timeout_then_the_store_is_unavailable() -> None:
    write = GatedWrite()
    b: Batcher[int, str] = Batcher(write, timeout=0.2)
    write.hold()
    try:
        started = time.monotonic()
        with pytest.raises(StoreUnavailable, match="in time"):
            b.run(1)
        assert 0.15 < time.monotonic() - started < 2

        async def late() -> None:
            with pytest.raises(StoreUnavailable, match="in time"):
                await b.arun(2)

        started = time.monotonic()
        asyncio.run(late())
        assert 0.15 < time.monotonic() - started < 2
        write.gate.set()  # 1 was being written: it lands late; 2 was still queued: it is skipped
        assert b.run(3) == "r3"
        assert write.batches == [[1], [3]]
    finally:
        b.close()


def test_close_drains_what_is_queued_then_refuses() -> None:
    write = GatedWrite()
    b: Batcher[int, str] = Batcher(write, max_batch=3)
    write.hold()
    with ThreadPoolExecutor(10) as pool:
        futures = [pool.submit(b.run, 0)]
        assert write.entered.wait(5)
        futures += [pool.submit(b.run, i) for i in range(1, 8)]
        wait_for(lambda: queued(b) == 7)
        closer = threading.Thread(target=b.close)
        closer.start()
        time.sleep(0.05)
        assert closer.is_alive()  # close waits for the queue to drain
        write.gate.set()
        closer.join(5)
        assert not closer.is_alive()
        assert [f.result(5) for f in futures] == [f"r{i}" for i in range(8)]
    assert [len(batch) for batch in write.batches] == [1, 3, 3, 1]
    assert b._thread is not None and not b._thread.is_alive()
    with pytest.raises(StoreUnavailable, match="closed"):
        b.run(9)

    async def refused() -> None:
        with pytest.raises(StoreUnavailable, match="closed"):
            await b.arun(9)

    asyncio.run(refused())


def test_a_cancelled_caller_does_not_disturb_the_others() -> None:
    write = GatedWrite()
    b: Batcher[int, str] = Batcher(write)

    async def main() -> list[str]:
        write.hold()
        first = asyncio.ensure_future(b.arun(0))
        await asyncio.to_thread(write.entered.wait, 5)
        gone = asyncio.ensure_future(b.arun(1))
        kept = asyncio.ensure_future(b.arun(2))
        await asyncio.sleep(0)
        gone.cancel()
        write.gate.set()
        return await asyncio.gather(first, kept)

    try:
        assert asyncio.run(main()) == ["r0", "r2"]
        assert write.batches == [[0], [2]]  # the cancelled call was still queued: never written
    finally:
        b.close()


def test_callers_on_several_loops_each_get_their_own_results() -> None:
    write = GatedWrite()
    b: Batcher[int, str] = Batcher(write)
    write.hold()
    results: dict[int, list[str]] = {}

    def on_own_loop(base: int) -> None:
        async def main() -> list[str]:
            return await asyncio.gather(*(b.arun(base + i) for i in range(20)))

        results[base] = asyncio.run(main())

    first = threading.Thread(target=b.run, args=(-1,))
    first.start()
    assert write.entered.wait(5)
    threads = [threading.Thread(target=on_own_loop, args=(base,)) for base in (100, 200, 300)]
    for t in threads:
        t.start()
    wait_for(lambda: queued(b) == 60)
    write.gate.set()
    for t in [first, *threads]:
        t.join(5)
    b.close()
    assert results == {base: [f"r{base + i}" for i in range(20)] for base in (100, 200, 300)}
    assert len(write.batches) == 2 and len(write.batches[1]) == 60


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_has_its_own_writer_and_none_of_the_parents_calls() -> None:
    """Fork while another thread holds the batcher's lock and a parent's call is queued: the child's
    calls are written at once (no inherited, forever-locked lock) and the parent's call is not written
    again by the child; the parent's call still completes in the parent."""
    write = GatedWrite()
    batcher: Batcher[int, str] = Batcher(write, timeout=10)
    assert batcher.run(1) == "r1"  # the writer thread exists
    write.hold()
    with ThreadPoolExecutor(2) as pool:
        parent_call = pool.submit(batcher.run, 2)
        assert write.entered.wait(5)  # the writer is inside the write of [2] ...
        queued = pool.submit(batcher.run, 3)  # ... so 3 waits in the queue
        wait_for(lambda: len(batcher._items) == 1)
        locked, release = threading.Event(), threading.Event()

        def hold_lock() -> None:
            with batcher._cond:
                locked.set()
                release.wait(10)

        holder = threading.Thread(target=hold_lock)
        holder.start()
        assert locked.wait(5)
        pid = os.fork()
        if pid == 0:  # the child: report through the exit code, never return into pytest
            code = 1
            try:
                signal.alarm(10)  # a deadlock must not hang the suite
                write.batches.clear()
                write.gate.set()
                code = 0 if batcher.run(4) == "r4" and write.batches == [[4]] else 2
            finally:
                os._exit(code)
        release.set()
        holder.join()
        write.gate.set()
        assert parent_call.result(5) == "r2" and queued.result(5) == "r3"
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    batcher.close()


def test_fair_lock_hands_over_in_arrival_order() -> None:
    """A writer that releases and asks again queues behind the writers already waiting (SQLite's turns)."""
    import threading

    from hookinbox.stores._groupcommit import FairLock

    lock = FairLock()
    order: list[str] = []
    lock.__enter__()
    waiting = []
    for name in ("claim", "settle"):
        t = threading.Thread(target=lambda n=name: (lock.__enter__(), order.append(n), lock.__exit__()))
        t.start()
        waiting.append(t)
        wait_for(lambda k=len(waiting): len(lock._waiters) == k, what=f"{name} to wait")
    lock.__exit__()  # the holder (a busy record writer) lets go ...
    lock.__enter__()  # ... and asks again at once: it must wait for both
    order.append("record")
    lock.__exit__()
    for t in waiting:
        t.join(5)
    assert order == ["claim", "settle", "record"]
