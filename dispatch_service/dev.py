"""`python -m dispatch_service.dev token [--subject NAME]`: prints an operator bearer token."""

from __future__ import annotations

import argparse
import sys

from pydantic import ValidationError

from dispatch_service.auth import issue_operator_token
from dispatch_service.settings import OperatorAuthSettings
from shared import clock
from shared.settings import describe_settings_error


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m dispatch_service.dev")
    commands = parser.add_subparsers(dest="command", required=True)
    token = commands.add_parser("token", help="print an operator token for /v1/dispatch/...")
    token.add_argument("--subject", default="operator", help="who the token names")
    args = parser.parse_args(argv)
    try:
        settings = OperatorAuthSettings()
    except ValidationError as error:
        print(describe_settings_error(error, "DISPATCH_"), file=sys.stderr)
        raise SystemExit(2) from None
    if args.command == "token":
        print(issue_operator_token(settings, args.subject, clock.now()))


if __name__ == "__main__":
    main()
