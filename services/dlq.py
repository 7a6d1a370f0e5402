"""`python -m services dlq list|show|replay|discard`: dead letters, looked at and sent again.

Two kinds, each named by a reference the commands print:
- `<topic>.dlq:<partition>:<offset>`: an event a consumer could not apply (its error, consumer
  and original place are in the record's `dlq_*` headers). Replay publishes it to its original
  topic with its original key and headers; a consumer that applied it already skips it (inbox).
- `outbox:<service>:<id>`: an outbox row Kafka refused for good, parked in that service's
  `outbox_dead` table; it blocks the rows of its key. Replay puts it back in the outbox in its
  place (after fixing the cause); discard drops it and lets its key go on.

Kafka comes from the `KAFKA_*` variables (the project's broker by default), the databases from
`<SERVICE>_DATABASE_URL` (the local ones by default) or `--database name=url`. See
docs/operations.md.
"""

from __future__ import annotations

import argparse
import asyncio
import fnmatch
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson
from aiokafka import ConsumerRecord, TopicPartition

from services import infra
from shared import outbox
from shared.db import Db
from shared.events import topics
from shared.kafka import KafkaConfig, new_admin, new_consumer, new_producer
from shared.settings import KafkaSettings

DLQ_HEADER_PREFIX = "dlq_"
SERVICES = {"catalog": "CATALOG", "order": "ORDER", "dispatch": "DISPATCH", "driver": "DRIVER"}


class DlqError(Exception):
    """A bad reference or filter; the message says what to type instead."""


@dataclass(frozen=True)
class DeadLetter:
    """One record of a `<topic>.dlq` topic."""

    topic: str
    partition: int
    offset: int
    at: datetime
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]

    @property
    def ref(self) -> str:
        return f"{self.topic}:{self.partition}:{self.offset}"

    def header(self, name: str) -> str:
        for key, value in self.headers:
            if key == name:
                return bytes(value).decode(errors="replace")
        return ""

    @property
    def original_topic(self) -> str:
        return self.header("dlq_original_topic") or self.topic.removesuffix(topics.DLQ_SUFFIX)

    @property
    def original_headers(self) -> list[tuple[str, bytes]]:
        return [(k, v) for k, v in self.headers if not k.startswith(DLQ_HEADER_PREFIX)]


@dataclass(frozen=True)
class Filters:
    topic: str | None = None
    consumer: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    offsets: tuple[int, int] | None = None

    def admits(self, letter: DeadLetter) -> bool:
        if self.consumer and not fnmatch.fnmatchcase(letter.header("dlq_consumer"), self.consumer):
            return False
        if self.since and letter.at < self.since:
            return False
        if self.until and letter.at > self.until:
            return False
        return not (self.offsets and not self.offsets[0] <= letter.offset <= self.offsets[1])


def dead_letter_topics(suffix: str, topic: str | None) -> list[str]:
    names = [name for name in topics.all_topics(suffix) if name.endswith(topics.DLQ_SUFFIX)]
    if topic is None:
        return names
    wanted = topics.dead_letter(topics.resolve(topic.removesuffix(topics.DLQ_SUFFIX), suffix))
    if wanted not in names:
        known = ", ".join(sorted(topics.PARTITIONS))
        raise DlqError(f"no topic {topic!r} in the suite: use one of {known}")
    return [wanted]


async def read_dead_letters(
    kafka: KafkaConfig, names: Sequence[str], filters: Filters
) -> list[DeadLetter]:
    """Every record of the named dead-letter topics, from the start to the current end."""
    admin = new_admin(kafka)
    await admin.start()
    try:
        described = await admin.describe_topics(list(names))
    finally:
        await admin.close()
    partitions = [
        TopicPartition(topic["topic"], p["partition"])
        for topic in described
        if topic.get("error_code", 0) == 0
        for p in topic["partitions"]
    ]
    if not partitions:
        return []
    consumer = new_consumer(kafka, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        letters: list[DeadLetter] = []
        remaining = {tp for tp in partitions if ends[tp] > 0}
        while remaining:
            batches = await consumer.getmany(*remaining, timeout_ms=2000)
            if not batches:
                break
            for tp, records in batches.items():
                letters += [_letter(r) for r in records if r.offset < ends[tp]]
                if records and records[-1].offset + 1 >= ends[tp]:
                    remaining.discard(tp)
        return [letter for letter in letters if filters.admits(letter)]
    finally:
        await consumer.stop()


def _letter(record: ConsumerRecord[bytes, bytes]) -> DeadLetter:
    return DeadLetter(
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        at=datetime.fromtimestamp(record.timestamp / 1000, UTC),
        key=record.key,
        value=record.value,
        headers=[(k, bytes(v)) for k, v in record.headers or []],
    )


async def replay_dead_letters(kafka: KafkaConfig, letters: Sequence[DeadLetter]) -> list[str]:
    """Publishes each to its original topic, original key and headers; returns where each went."""
    producer = new_producer(kafka, client_id="dlq-replay")
    await producer.start()
    try:
        placed = []
        for letter in letters:
            metadata = await producer.send_and_wait(
                letter.original_topic,
                value=letter.value,
                key=letter.key,
                headers=letter.original_headers,
            )
            placed.append(f"{metadata.topic}:{metadata.partition}:{metadata.offset}")
        return placed
    finally:
        await producer.stop()


# --- parked outbox rows ----------------------------------------------------------------------


def database_urls(overrides: Sequence[str]) -> dict[str, str]:
    urls = {name: infra.infra_env()[f"{prefix}_DATABASE_URL"] for name, prefix in SERVICES.items()}
    for item in overrides:
        name, sep, url = item.partition("=")
        if not sep or not url:
            raise DlqError(f"--database wants name=url, got {item!r}")
        urls[name] = url
    return urls


def parse_outbox_ref(ref: str) -> tuple[str, int]:
    parts = ref.split(":")
    if len(parts) != 3 or parts[0] != "outbox" or not parts[2].isdigit():
        raise DlqError(f"{ref!r} is not outbox:<service>:<id> (see `dlq list`)")
    return parts[1], int(parts[2])


def parse_kafka_ref(ref: str) -> tuple[str, int, int]:
    topic, _, rest = ref.partition(":")
    partition, _, offset = rest.partition(":")
    if not topic.endswith(topics.DLQ_SUFFIX) or not partition.isdigit() or not offset.isdigit():
        raise DlqError(f"{ref!r} is not <topic>.dlq:<partition>:<offset> (see `dlq list`)")
    return topic, int(partition), int(offset)


async def parked_rows(urls: dict[str, str], only: str | None) -> list[tuple[str, outbox.DeadRow]]:
    found = []
    for name, url in urls.items():
        if only and name != only:
            continue
        db = Db(url, pool_size=1)
        try:
            found += [(name, row) for row in await outbox.dead_rows(db)]
        except Exception as error:  # one unreachable database must not hide the others
            print(
                f"[dlq] {name}: cannot read outbox_dead ({type(error).__name__});"
                " has the service run (and migrated its database) yet?",
                file=sys.stderr,
            )
        finally:
            await db.dispose()
    return found


# --- the commands ----------------------------------------------------------------------------


def _when(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _offsets(value: str) -> tuple[int, int]:
    low, sep, high = value.partition("-")
    try:
        return (int(low), int(high if sep else low))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an offset or a range A-B: {value!r}") from None


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m services dlq", description=__doc__.split("\n\n")[0])
    commands = p.add_subparsers(dest="command", required=True)

    def common(sub: argparse.ArgumentParser, refs: bool) -> None:
        if refs:
            sub.add_argument("refs", nargs="*", help="references printed by `list`")
        sub.add_argument("--suffix", default="", help="topic suffix of the suite (tests, chaos)")
        sub.add_argument(
            "--database",
            action="append",
            default=[],
            metavar="NAME=URL",
            help="a service's database (default: <SERVICE>_DATABASE_URL or the local one)",
        )
        sub.add_argument("--source", choices=("kafka", "outbox", "all"), default="all")
        sub.add_argument("--topic", help="original topic, e.g. orders")
        sub.add_argument("--consumer", help="consumer group (glob), e.g. 'order*'")
        sub.add_argument("--service", help="parked outbox rows of this service only")
        sub.add_argument("--since", type=_when, help="dead-lettered at or after (ISO 8601)")
        sub.add_argument("--until", type=_when, help="dead-lettered at or before (ISO 8601)")
        sub.add_argument("--offset", type=_offsets, help="dead-letter offset N or range A-B")

    common(commands.add_parser("list", help="one line per dead letter and parked row"), False)
    common(commands.add_parser("show", help="everything about some dead letters"), True)
    replay = commands.add_parser("replay", help="publish again (refs, or every match)")
    common(replay, True)
    replay.add_argument("--dry-run", action="store_true", help="print, publish nothing")
    discard = commands.add_parser("discard", help="drop parked outbox rows for good")
    discard.add_argument("refs", nargs="+", help="outbox:<service>:<id> references")
    discard.add_argument("--database", action="append", default=[], metavar="NAME=URL")
    return p


async def run(args: argparse.Namespace) -> int:
    kafka = KafkaSettings(KAFKA_BOOTSTRAP_SERVERS=infra.kafka_bootstrap()).kafka()
    urls = database_urls(args.database)
    if args.command == "discard":
        for ref in args.refs:
            service, row_id = parse_outbox_ref(ref)
            db = Db(urls[service], pool_size=1)
            try:
                found = await outbox.discard_dead(db, row_id)
            finally:
                await db.dispose()
            print(f"{ref} {'discarded' if found else 'not found'}")
        return 0
    letters, rows = await _select(args, kafka, urls)
    if args.command == "list":
        for letter in letters:
            print(_letter_line(letter))
        for service, row in rows:
            print(_row_line(service, row))
        print(f"[dlq] {len(letters)} dead letters, {len(rows)} parked outbox rows", file=sys.stderr)
    elif args.command == "show":
        for letter in letters:
            print(_letter_details(letter))
        for service, row in rows:
            print(_row_details(service, row))
    elif args.command == "replay":
        if args.dry_run:
            for letter in letters:
                print(f"would replay {letter.ref} -> {letter.original_topic}")
            for service, row in rows:
                print(f"would put back outbox:{service}:{row.id} ({row.event_type})")
            return 0
        for letter, placed in zip(letters, await replay_dead_letters(kafka, letters), strict=True):
            print(f"replayed {letter.ref} -> {placed}")
        for service, row in rows:
            db = Db(urls[service], pool_size=1)
            try:
                back = await outbox.requeue_dead(db, row.id)
            finally:
                await db.dispose()
            print(f"outbox:{service}:{row.id} {'back in the outbox' if back else 'not found'}")
    return 0


async def _select(
    args: argparse.Namespace, kafka: KafkaConfig, urls: dict[str, str]
) -> tuple[list[DeadLetter], list[tuple[str, outbox.DeadRow]]]:
    refs: list[str] = getattr(args, "refs", None) or []
    kafka_refs = {parse_kafka_ref(r) for r in refs if not r.startswith("outbox:")}
    outbox_refs = {parse_outbox_ref(r) for r in refs if r.startswith("outbox:")}
    filters = Filters(args.topic, args.consumer, args.since, args.until, args.offset)
    letters: list[DeadLetter] = []
    rows: list[tuple[str, outbox.DeadRow]] = []
    if args.source in ("kafka", "all") and (kafka_refs or not outbox_refs):
        names = (
            sorted({topic for topic, _, _ in kafka_refs})
            if kafka_refs
            else dead_letter_topics(args.suffix, args.topic)
        )
        letters = await read_dead_letters(kafka, names, filters)
        if kafka_refs:
            letters = [x for x in letters if (x.topic, x.partition, x.offset) in kafka_refs]
    if args.source in ("outbox", "all") and (outbox_refs or not kafka_refs):
        rows = await parked_rows(urls, args.service)
        if outbox_refs:
            rows = [(s, r) for s, r in rows if (s, r.id) in outbox_refs]
        elif args.topic:
            rows = [(s, r) for s, r in rows if r.topic == args.topic]
    missing = len(kafka_refs) + len(outbox_refs) - len(letters) - len(rows)
    if refs and missing:
        raise DlqError(f"{missing} of the references were not found: see `dlq list`")
    return letters, rows


def _first_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:160] if lines else ""


def _letter_line(letter: DeadLetter) -> str:
    return (
        f"{letter.ref}  {letter.at:%Y-%m-%dT%H:%M:%SZ}"
        f"  from {letter.original_topic}:{letter.header('dlq_original_partition')}"
        f":{letter.header('dlq_original_offset')}"
        f"  consumer={letter.header('dlq_consumer')}  type={letter.header('event_type')}"
        f"  event_id={letter.header('event_id')}  attempts={letter.header('dlq_attempts')}"
        f"  error={_first_line(letter.header('dlq_error'))}"
    )


def _row_line(service: str, row: outbox.DeadRow) -> str:
    return (
        f"outbox:{service}:{row.id}  {row.parked_at:%Y-%m-%dT%H:%M:%SZ}  topic={row.topic}"
        f"  key={row.key}  type={row.event_type}  event_id={row.event_id}"
        f"  error={_first_line(row.error)}"
    )


def _pretty(raw: bytes | None) -> str:
    try:
        return orjson.dumps(orjson.loads(raw or b""), option=orjson.OPT_INDENT_2).decode()
    except orjson.JSONDecodeError:
        return repr(raw[:2000] if raw else raw)


def _letter_details(letter: DeadLetter) -> str:
    headers = "\n".join(
        f"  {k}: {bytes(v).decode(errors='replace')}" for k, v in letter.headers if k != "dlq_error"
    )
    return (
        f"== {letter.ref} (dead-lettered {letter.at.isoformat()})\n"
        f"key: {(letter.key or b'').decode(errors='replace')}\nheaders:\n{headers}\n"
        f"error:\n{letter.header('dlq_error')}\nevent:\n{_pretty(letter.value)}\n"
    )


def _row_details(service: str, row: outbox.DeadRow) -> str:
    return (
        f"== outbox:{service}:{row.id} (parked {row.parked_at.isoformat()},"
        f" written {row.created_at.isoformat()})\n"
        f"topic: {row.topic}\nkey: {row.key}\ntype: {row.event_type}\nevent_id: {row.event_id}\n"
        f"error:\n{row.error}\nevent:\n{_pretty(row.event)}\n"
    )


def main(argv: Sequence[str]) -> int:
    args = parser().parse_args(list(argv))
    try:
        return asyncio.run(run(args))
    except DlqError as error:
        print(f"[dlq] {error}", file=sys.stderr)
        return 2
