"""Live changes of the console's mall boards, for its Server-Sent Events stream.

One task per watched mall loads the mall's board every `refresh` seconds (more slowly when a
load takes long), compares it with the previous one and hands only what changed to each open
stream: items added or changed, ids removed, whole small sections replaced. The last changes
are kept, so a browser that reconnects resumes where it left off; one too far behind, or one
that spoke to another dispatch instance, is told to reload the board.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

log = logging.getLogger(__name__)

Json = dict[str, Any]
Loader = Callable[[str], Awaitable[Json]]

# Sections of a board: small ones are replaced whole, lists of items (each with an "id") change
# item by item.
SINGLE = ("mall", "same_day", "day")
KEYED = ("stores", "shipments", "routes", "drivers", "exceptions")


def diff(before: Json | None, after: Json) -> Json | None:
    """The changes from one board to the next, or None when nothing changed."""
    replaced = {
        name: after[name] for name in SINGLE if before is None or before[name] != after[name]
    }
    upserts: Json = {}
    removals: Json = {}
    for name in KEYED:
        old = {item["id"]: item for item in before[name]} if before is not None else {}
        new = {item["id"]: item for item in after[name]}
        changed = [item for key, item in new.items() if old.get(key) != item]
        gone = [key for key in old if key not in new]
        if changed:
            upserts[name] = changed
        if gone:
            removals[name] = gone
    if not (replaced or upserts or removals):
        return None
    return {"set": replaced, "upsert": upserts, "remove": removals}


class BoardUnavailable(Exception):
    """The mall's board could not be loaded in time (the log says why)."""


@dataclass(frozen=True, slots=True)
class Message:
    """One event of the stream: `delta` (changes), `reset` (reload the board) or `clock`."""

    kind: str
    version: str
    data: Json


@dataclass
class _Subscriber:
    queue: asyncio.Queue[Message]
    is_overflowing: bool = False


@dataclass
class MallFeed:
    mall_id: str
    instance: str
    number: int = 0
    board: Json | None = None
    now: str = ""
    history: deque[Message] = field(default_factory=lambda: deque(maxlen=500))
    subscribers: list[_Subscriber] = field(default_factory=list)
    wanted_at: float = field(default_factory=time.monotonic)
    loaded: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    encoded: tuple[str, bytes] | None = None

    @property
    def version(self) -> str:
        return f"{self.instance}.{self.number}"

    def number_of(self, version: str | None) -> int | None:
        """The change number of a version this instance gave out, else None."""
        instance, _, number = (version or "").rpartition(".")
        return int(number) if instance == self.instance and number.isdigit() else None

    def publish(self, board: Json, changes: Json | None) -> None:
        """Takes the next board, and its changes from the one before (see `diff`)."""
        self.board, self.now = board, board["now"]
        if changes is None:
            return
        self.number += 1
        message = Message(
            "delta", self.version, {"version": self.version, "now": self.now, **changes}
        )
        self.history.append(message)
        for subscriber in list(self.subscribers):
            try:
                subscriber.queue.put_nowait(message)
            except asyncio.QueueFull:
                # Too slow to keep up: it reloads the board instead of reading a backlog.
                subscriber.is_overflowing = True
                self.subscribers.remove(subscriber)


class ConsoleFeeds:
    def __init__(
        self,
        load: Loader,
        *,
        refresh_seconds: float,
        idle_seconds: float = 60.0,
        clock_seconds: float = 5.0,
        load_timeout_seconds: float = 30.0,
    ) -> None:
        self._load = load
        self.refresh_seconds = refresh_seconds
        self.idle_seconds = idle_seconds
        self.clock_seconds = clock_seconds
        self.load_timeout_seconds = load_timeout_seconds
        # Versions name the instance: a browser that reconnects to another one starts afresh.
        self.instance = uuid.uuid4().hex[:8]
        self._feeds: dict[str, MallFeed] = {}
        self._lock = asyncio.Lock()

    async def _feed(self, mall_id: str) -> MallFeed:
        async with self._lock:
            feed = self._feeds.get(mall_id)
            if feed is None:
                feed = self._feeds[mall_id] = MallFeed(mall_id, self.instance)
            feed.wanted_at = time.monotonic()
            if feed.task is None or feed.task.done():
                feed.loaded.clear()
                feed.task = asyncio.create_task(self._run(feed), name=f"console-feed-{mall_id}")
        try:
            await asyncio.wait_for(feed.loaded.wait(), timeout=self.load_timeout_seconds)
        except TimeoutError:
            raise BoardUnavailable(mall_id) from None
        return feed

    async def snapshot(self, mall_id: str) -> tuple[str, Json]:
        """The mall's latest board and its version (the board carries the version too)."""
        feed = await self._feed(mall_id)
        assert feed.board is not None
        return feed.version, {**feed.board, "version": feed.version}

    async def snapshot_json(self, mall_id: str) -> bytes:
        """The latest board as JSON, encoded once per version: a busy mall's board is large,
        and every page that opens it asks for the same one."""
        feed = await self._feed(mall_id)
        if feed.encoded is None or feed.encoded[0] != feed.version:
            assert feed.board is not None
            feed.encoded = (feed.version, orjson.dumps({**feed.board, "version": feed.version}))
        return feed.encoded[1]

    async def stream(
        self, mall_id: str, after: str | None, seconds: float
    ) -> AsyncIterator[Message]:
        """The changes after version `after`, then live ones, for `seconds`; a `clock` message
        when nothing changed for a while, so the page knows it is still live. A browser applies
        a change only onto an older board: after a `reset` it reloads, and skips what it has."""
        feed = await self._feed(mall_id)
        subscriber = _Subscriber(asyncio.Queue(maxsize=256))
        feed.subscribers.append(subscriber)
        try:
            last = feed.number_of(after)
            missed = [m for m in feed.history if (feed.number_of(m.version) or 0) > (last or 0)]
            is_resumable = last is not None and (
                last == feed.number
                or (len(missed) > 0 and feed.number_of(missed[0].version) == last + 1)
            )
            if not is_resumable:
                missed = [Message("reset", feed.version, self._clock_data(feed))]
                last = feed.number
            for message in missed:
                yield message
                last = max(last or 0, feed.number_of(message.version) or 0)
            deadline = time.monotonic() + seconds
            while (left := deadline - time.monotonic()) > 0:
                if subscriber.is_overflowing:
                    yield Message("reset", feed.version, self._clock_data(feed))
                    return
                try:
                    message = await asyncio.wait_for(
                        subscriber.queue.get(), timeout=min(self.clock_seconds, left)
                    )
                except TimeoutError:
                    feed.wanted_at = time.monotonic()
                    yield Message("clock", feed.version, self._clock_data(feed))
                    continue
                number = feed.number_of(message.version) or 0
                if number > (last or 0):
                    last = number
                    yield message
        finally:
            with contextlib.suppress(ValueError):
                feed.subscribers.remove(subscriber)
            feed.wanted_at = time.monotonic()

    @staticmethod
    def _clock_data(feed: MallFeed) -> Json:
        return {"version": feed.version, "now": feed.now}

    async def _run(self, feed: MallFeed) -> None:
        while True:
            started = time.monotonic()
            try:
                board = await self._load(feed.mall_id)
                # Comparing two large boards is plain CPU: off the event loop, which keeps
                # answering requests meanwhile.
                changes = await asyncio.to_thread(diff, feed.board, board)
                feed.publish(board, changes)
                feed.loaded.set()
            except asyncio.CancelledError:
                raise
            except Exception:
                # The next look retries; streams stay open meanwhile.
                log.exception("console_board_failed", extra={"mall_id": feed.mall_id})
            took = time.monotonic() - started
            if not feed.subscribers and time.monotonic() - feed.wanted_at > self.idle_seconds:
                return
            # A slow load (a large mall on a busy machine) must not take the whole process.
            await asyncio.sleep(max(self.refresh_seconds, 2 * took))

    async def stop(self) -> None:
        for feed in self._feeds.values():
            if feed.task is not None:
                feed.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await feed.task
                feed.task = None
