"""The `pb-tally` command: tally a pabulib file with any pb rule and compare the result with the published one.

The command line is read here, before the tally engine is imported: the engine brings numpy and every rule, a
tenth of a second or more, longer than `pb-tally --help` or a mistyped option should take in all. The count and
its report are in pb/tally_report.py, imported once a file is to be counted.
"""

import argparse
import os
import sys
from collections.abc import Sequence

PROGRAM = "pb-tally"
# The names of pb.domain.tally.RULES, in its order, written out so that the command line is parsed (and --help
# answered) without importing the engine; tests/test_tally_cli_startup.py checks that the two agree.
RULE_NAMES = (
    "greedy",
    "greedy-threshold",
    "greedy-no-skip",
    "mes",
    "mes-add1",
    "mes-add1-no-completion",
    "mes-add1-comparison",
    "phragmen",
)


class UsageError(Exception):
    """The command line itself is wrong; main prints the message on one line and exits with 2."""


class _ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str):
        # argparse would print the whole usage first; one clear line is easier to read in a script's log.
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    rules = ", ".join(RULE_NAMES)
    parser = _ArgumentParser(
        prog=PROGRAM,
        description="Tally a participatory budgeting election stored as a pabulib .pb file.",
    )
    parser.add_argument("file", metavar="FILE", help="the .pb file, or - to read it from standard input")
    parser.add_argument(
        "--rule",
        default="auto",
        choices=["auto", *RULE_NAMES],
        metavar="NAME",
        help=f"auto (the file's own rule; greedy when pb does not run it) or one of: {rules} (default: auto)",
    )
    parser.add_argument(
        "--tie-break",
        default="default",
        choices=["default", "lexicographic"],
        help="default: lower cost, then more votes, then a seeded lottery; lexicographic: by project id",
    )
    parser.add_argument("--seed", type=int, help="the lottery seed of the default tie-break (default: 0)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--explain", metavar="PROJECT_ID", help="print why this project was or was not funded")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run pb-tally; 0 on success, 2 with a one-line message on standard error for any bad input."""
    try:
        args = build_parser().parse_args(argv)
        if args.seed is not None and args.tie_break != "default":
            raise UsageError("--seed applies to the default tie-break only")
        from pb import tally_report

        return tally_report.run(args)
    except UsageError as error:
        print(f"{PROGRAM}: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader stopped early (`pb-tally big.pb | head`); Python would complain again when flushing at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    # Run as `python -m pb.tally_cli`, this file is the module __main__; pb.tally_report raises pb.tally_cli's own
    # UsageError, so main is taken from pb.tally_cli for the two to be the same class.
    from pb.tally_cli import main as tally_main

    raise SystemExit(tally_main())
