"""``python -m tests.fuzz [--cases N] [--seed S]``: a fuzz campaign (``make fuzz`` runs the long one)."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from tests.fuzz.targets import run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--replay", type=int, default=None, metavar="CASE", help="run only this case number; its input goes to stdout")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="targetwatch-fuzz-") as folder:
        report = run(args.cases, args.seed, Path(folder), only=args.replay)
    if args.replay is not None and report.replayed is not None:
        sys.stdout.buffer.write(report.replayed + b"\n")
    print(report.summary())
    for failure in report.tracebacks + report.unforeseen:
        print(f"--- {failure.target} case {failure.case} (seed {report.seed})\n{failure.error}", file=sys.stderr)
    for value in report.landed_bad:
        print(f"--- landed: {value}", file=sys.stderr)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
