"""Work off the main thread: a named thread runs jobs in order and posts results back.

``post`` decides where callbacks run: in the app it is ``Clock.schedule_once`` (the Kivy main
thread), in tests a plain call or a list the test drains. A job's exception is posted to its
``on_error`` (or logged), never lost and never raised on the worker thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
Post = Callable[[Callable[[], None]], None]
log = logging.getLogger("cgt.worker")


def call_now(fn: Callable[[], None]) -> None:
    """The plain ``post`` for tests: run the callback at once, on the worker thread."""
    fn()


class Worker:
    def __init__(self, name: str, post: Post = call_now) -> None:
        self.name = name
        self.post = post
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._busy = 0
        self._lock = threading.Lock()

    @property
    def busy(self) -> bool:
        with self._lock:
            return self._busy > 0

    def submit(
        self,
        job: Callable[[], T],
        on_done: Callable[[T], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> Future[Any]:
        with self._lock:
            self._busy += 1

        def run() -> None:
            try:
                result = job()
            except BaseException as error:  # noqa: BLE001 - handed to the UI, not swallowed
                if on_error is None:
                    log.exception("%s job failed", self.name)
                else:
                    self.post(lambda failure=error: on_error(failure))  # type: ignore[misc]
            else:
                if on_done is not None:
                    self.post(lambda: on_done(result))
            finally:
                with self._lock:
                    self._busy -= 1

        return self._pool.submit(run)

    def drain(self, timeout: float = 30.0) -> None:
        """Wait until every job submitted so far has run (tests, shutdown)."""
        self._pool.submit(lambda: None).result(timeout=timeout)

    def stop(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
