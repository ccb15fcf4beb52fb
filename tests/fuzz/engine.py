"""A seeded mutational fuzzer: the same seed gives the same cases, so any failure replays exactly.

Each case takes a seed input (a real file or payload of the project), applies one to eight mutations
(a token replaced by an interesting value, bytes inserted, deleted, duplicated or flipped, a huge
field, deep nesting, truncation) and hands the bytes to a target. A target calls the same library
function the command calls and may only end in two ways: normally, or with a located
:class:`~targetwatch.errors.TargetwatchError` (what a command prints as one line). Anything else is
counted as a traceback, with the case number that replays it.
"""

from __future__ import annotations

import random
import re
import time
import traceback
from dataclasses import dataclass, field
from typing import Callable

# Values that broke, or could break, a parser or a check: numbers at the edge of float, impossible
# periods, YAML and CSV syntax, encodings, names the registry knows and does not know.
INTERESTING: list[bytes] = [
    b"1e308", b"-1e308", b"1e309", b"1e305", b"-1e305", b"1.7976931348623157e308", b"5e-324", b"inf", b"-inf", b"Infinity",
    b"nan", b"NaN", b"-0", b"0", b"-1", b"1001", b"-101", b"-100", b"1000", b"99999999999999999999999", b"0x10", b"1_000",
    b"1,234.5", b"12%", b"TRUE", b"FALSE",
    b"2023-02-30", b"2023-13", b"2023-00", b"0000-01", b"9999-12", b"10000-01", b"2023-Q5", b"2023-Q0", b"2023-H3",
    b"2023-01/03", b"2023-02/01", b"2023-1-13", b"2023-06-31", b"1-13\xe6\x9c\x88", "2023年1-6月".encode(), "2023年二季度".encode(),
    b"", b" ", b"\x00", b"\xff\xfe", b"\xef\xbb\xbf", b"\xe4\xb8", b'"', b'""', b",", b"\n", b"\r", b"\r\n", b"\t", b"/", b"--",
    "大祥区".encode(), "火星区".encode(), "亿元".encode(), "万元".encode(), "人".encode(), "累计".encode(), "当月".encode(), b"gdp",
    b"gdp_growth", b"retail_sales", b"[]", b"{}", b"[", b"{", b"{a: [", b"&a", b"*a", b"<<: *a", b"!!python/object/apply:os.system",
    b"!!binary ZZZ", b"!!int", b"!!float", b"~", b"null", b"true", b"- ", b": ", b"---", b"...", b"#", b"%YAML 1.1",
    b"<", b">", b"</", b"&amp;", b"&#0;", b"<!DOCTYPE x [<!ENTITY a 'aaaa'>]>", b'<c r="XFD1048576"><v>1</v></c>',
    b'<dimension ref="A1:XFD1048576"/>', b'<row r="1048577">', b'r="A0"', b'r="ZZZZ1"', b"<v>1e308</v>", b't="s"', b"<v>99999</v>",
    b"http://127.0.0.2:1/x", b"//evil.example/x", b"file:///etc/passwd",
]
_TOKEN = re.compile(rb"[^,\n\r:{}\[\]\"<>= \t/]+")


@dataclass
class Mutator:
    """Byte-level and token-level mutations, driven by one ``random.Random``."""

    rng: random.Random

    def interesting(self) -> bytes:
        roll = self.rng.random()
        if roll < 0.03:
            return self.rng.choice([b"x", b"9", "字".encode()]) * self.rng.randint(1_000, 300_000)  # a huge field
        if roll < 0.05:
            return self.rng.choice([b"[", b"{", b"- ", b"<a>"]) * self.rng.randint(100, 20_000)  # deep nesting
        return self.rng.choice(INTERESTING)

    def mutate(self, data: bytes) -> bytes:
        for _ in range(self.rng.randint(1, 8)):
            data = self.rng.choice(self._OPS)(self, data)
        return data

    def _replace_token(self, data: bytes) -> bytes:
        tokens = list(_TOKEN.finditer(data[:200_000]))
        if not tokens:
            return self._insert(data)
        m = self.rng.choice(tokens)
        return data[:m.start()] + self.interesting() + data[m.end():]

    def _insert(self, data: bytes) -> bytes:
        i = self.rng.randint(0, len(data))
        return data[:i] + self.interesting() + data[i:]

    def _span(self, data: bytes) -> tuple[int, int]:
        i = self.rng.randint(0, len(data))
        return i, min(len(data), i + self.rng.randint(1, 64))

    def _delete(self, data: bytes) -> bytes:
        i, j = self._span(data)
        return data[:i] + data[j:]

    def _duplicate(self, data: bytes) -> bytes:
        i, j = self._span(data)
        return data[:j] + data[i:j] * self.rng.randint(1, 50) + data[j:]

    def _flip(self, data: bytes) -> bytes:
        if not data:
            return data
        i = self.rng.randrange(len(data))
        return data[:i] + bytes([data[i] ^ (1 << self.rng.randrange(8))]) + data[i + 1:]

    def _random_bytes(self, data: bytes) -> bytes:
        i = self.rng.randint(0, len(data))
        return data[:i] + self.rng.randbytes(self.rng.randint(1, 16)) + data[i:]

    def _truncate(self, data: bytes) -> bytes:
        return data[:self.rng.randint(0, len(data))]

    _OPS = [_replace_token] * 6 + [_insert] * 2 + [_delete, _duplicate, _flip, _random_bytes, _truncate]


@dataclass
class Failure:
    target: str
    case: int
    error: str


@dataclass
class Report:
    """What a campaign did; ``ok`` is the bar: no traceback, no unforeseen failure, nothing implausible landed."""

    seed: int
    cases: dict[str, int] = field(default_factory=dict)
    tracebacks: list[Failure] = field(default_factory=list)
    unforeseen: list[Failure] = field(default_factory=list)  # caught only by a last-resort net: still a bug to fix
    rejections: int = 0
    parser_deaths: int = 0  # workbook parsers that died in their sandbox child: contained, each a located rejection
    landed: int = 0
    landed_bad: list[str] = field(default_factory=list)
    seconds: float = 0.0
    replayed: bytes | None = None  # the input of a replayed case
    target_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.cases.values())

    @property
    def ok(self) -> bool:
        return not self.tracebacks and not self.unforeseen and not self.landed_bad

    def summary(self) -> str:
        per = ", ".join(f"{k} {v} ({self.target_seconds.get(k, 0):.0f} s)" for k, v in sorted(self.cases.items()))
        return (f"seed {self.seed}: {self.total} cases in {self.seconds:.1f} s ({per}); "
                f"{len(self.tracebacks)} tracebacks, {len(self.unforeseen)} unforeseen failures, 0 process aborts, "
                f"{len(self.landed_bad)} non-finite or out-of-bounds values landed; {self.landed} values landed, "
                f"{self.rejections} located rejections, {self.parser_deaths} parser deaths contained")


Target = Callable[[bytes, "Report"], None]


def run_case(name: str, case: int, target: Target, data: bytes, report: Report) -> None:
    from targetwatch.errors import TargetwatchError

    report.cases[name] = report.cases.get(name, 0) + 1
    start = time.monotonic()
    try:
        target(data, report)
    except TargetwatchError:
        report.rejections += 1
    except Exception:  # the bar: nothing else may come out of a command's library function
        report.tracebacks.append(Failure(name, case, traceback.format_exc(limit=6)))
    report.target_seconds[name] = report.target_seconds.get(name, 0.0) + time.monotonic() - start


def campaign(targets: dict[str, tuple[float, Callable[[Mutator], bytes], Target]], cases: int, seed: int,
             finish: Callable[[Report], None] | None = None, only: int | None = None) -> Report:
    """Run ``cases`` cases spread over ``targets`` (name → (weight, make input, target)) with one seed.

    ``only``: replay that one case (its input is generated exactly as in the full run; no other target runs)."""
    rng = random.Random(seed)
    mutator = Mutator(rng)
    report = Report(seed)
    names = list(targets)
    weights = [targets[n][0] for n in names]
    start = time.monotonic()
    for case in range(cases):
        name = rng.choices(names, weights)[0]
        _, make, target = targets[name]
        data = make(mutator)
        if only is None or case == only:
            run_case(name, case, target, data, report)
        if only is not None and case == only:
            report.replayed = data
            break
    if finish:
        finish(report)
    report.seconds = time.monotonic() - start
    return report
