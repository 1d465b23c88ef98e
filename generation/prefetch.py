"""Run an iterator a few items ahead on a background thread.

Decoding footage (FFmpeg) and converting it to RGB release the GIL, so a reader thread
decodes the next frames while the caller composites the current one, and the caller
never waits on the decoder's start-up latency at the beginning of a shot.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

__all__ = ["prefetch"]

T = TypeVar("T")
_DONE = object()


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def prefetch(source: Iterator[T], depth: int = 4) -> Iterator[T]:
    """Yield ``source``'s items, produced up to ``depth`` items ahead on a thread.

    Errors of ``source`` are raised here, in the caller's thread, where they would have
    surfaced without the thread. Closing the returned generator (or dropping it) stops
    the reader and closes ``source``. Only for sources whose items stay valid once the
    next one is produced (fresh arrays, not a reused buffer).
    """
    items: queue.Queue[object] = queue.Queue(maxsize=max(1, depth))
    stop = threading.Event()

    def offer(item: object) -> bool:
        while not stop.is_set():
            try:
                items.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            for item in source:
                if not offer(item):
                    break
            else:
                offer(_DONE)
        except BaseException as exc:  # handed to the consumer, raised there
            offer(_Failed(exc))
        finally:
            close = getattr(source, "close", None)
            if callable(close):
                close()

    thread = threading.Thread(target=read, name="prefetch", daemon=True)
    started = False
    try:
        thread.start()
        started = True
        while True:
            item = items.get()
            if item is _DONE:
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        if started:
            # Free a slot so a reader blocked on a full queue sees ``stop`` at once.
            while thread.is_alive():
                try:
                    items.get_nowait()
                except queue.Empty:
                    thread.join(0.01)
            thread.join()
