"""Reads a py-spy profile in collapsed-stack form (`py-spy record -f raw`) and prints, in words,
where the time went: the functions with the largest inclusive and self shares of the samples.

    python -m bench.flames out/profiles/catalog.txt [--top 25] [--match catalog_service]
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path


def load(path: Path) -> tuple[Counter[str], Counter[str], int]:
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        total += count
        for frame in set(frames):
            inclusive[frame] += count
        own[frames[-1]] += count
    return inclusive, own, total


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.flames", description=__doc__)
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--match", default="", help="only frames whose text contains this")
    args = parser.parse_args(argv)
    inclusive, own, total = load(args.profile)
    if not total:
        raise SystemExit(f"{args.profile}: no samples")
    for title, counts in (("inclusive", inclusive), ("self", own)):
        print(f"{title} share of {total} samples:")
        shown = [(f, n) for f, n in counts.most_common() if args.match in f][: args.top]
        for frame, count in shown:
            print(f"  {100 * count / total:5.1f} %  {frame}")


if __name__ == "__main__":
    main()
