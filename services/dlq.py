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
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

import orjson

from services import infra
from services.dead_letters import (
    DeadLetter,
    DlqError,
    Filters,
    database_urls,
    dead_letter_topics,
    parked_rows,
    parse_kafka_ref,
    parse_outbox_ref,
    read_dead_letters,
    replay_dead_letters,
)
from shared import outbox
from shared.db import Db
from shared.kafka import KafkaConfig
from shared.settings import KafkaSettings


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
