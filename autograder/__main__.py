"""Command line of the course's grader: `python -m autograder COMMAND`, run from the course root."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from autograder.scores import print_scores


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    scores = commands.add_parser("scores", help="print each student's score per question from the gradebook")
    scores.add_argument("assignment")
    args = parser.parse_args(argv)
    course = Path.cwd()
    if args.command == "scores":
        if not (course / "gradebook.db").exists():
            print("No gradebook.db here: run this from the course root after grading.", file=sys.stderr)
            return 1
        print_scores(course, args.assignment)
    return 0


if __name__ == "__main__":
    sys.exit(main())
