"""Rule unit tests in the domain's terms, like ``promtool test rules``.

A test file::

    rule_files: [../rules/*.yaml]          # optional; default: the deployment's rules
    tests:
      - name: 大祥区并列第三，不得并列，不达标
        as_of: 2023-07-20
        period: 2023-06                    # optional
        input:                             # each item is one batch reported on a day
          - {indicator: iva_growth, period: 2023-06, reported: 2023-07-10, values: {daxiang: 7.1, beita: 7.1}}
          - {indicator: jobs, period: 2023-05, basis: period, reported: 2023-06-05, values: {longquan: 40}}
        expect:
          - {rule: top3, unit: daxiang, status: behind, rank: 3, gap: 0}

Every expectation field is compared exactly (numbers to 1e-6). A failure lists each differing field.
"""

from __future__ import annotations

import glob
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import pandas as pd

from rules.check import semantic_problems
from rules.engine import evaluate
from rules.load import RuleSet, parse_documents, rule_files
from targetwatch import periods, yamlio
from targetwatch.errors import ConfigError, Location
from targetwatch.store import StagedChunk

_FIELDS = ("status", "rank", "gap", "value", "target", "group_size", "reference", "stretch_met", "required_run_rate", "reported",
           "severity", "tier")


@dataclass
class TestResult:
    """The outcome of one named test case: its failures, one line each."""

    file: str
    name: str
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


def run_rule_tests(deployment, files: list[str | Path]) -> list[TestResult]:
    """Run every test case of every file against real SQLite stores in a temporary folder."""
    results = []
    for file in files:
        doc = yamlio.load(file)
        ruleset = _ruleset(deployment, Path(file), doc.get("rule_files"))
        for i, case in enumerate(doc.get("tests") or []):
            results.append(_run_case(deployment, ruleset, str(file), i, case))
    return results


def _ruleset(deployment, file: Path, patterns) -> RuleSet:
    if patterns:
        # glob.glob takes relative (to the test file) and absolute patterns alike
        paths = sorted({Path(p).resolve() for pat in patterns for p in glob.glob(str(file.parent / str(pat)))})
        if not paths:
            raise ConfigError(f"rule_files {list(patterns)} match no file next to {file}", Location(file=str(file)))
    else:
        paths = rule_files(deployment.root)
    ruleset = parse_documents(paths)
    ruleset.problems.extend(semantic_problems(ruleset, deployment))
    errors = [p for p in ruleset.problems if p.level == "error"]
    if errors:
        raise ConfigError("rule files have errors:\n" + "\n".join(map(str, errors)), errors[0].location)
    return ruleset


def case_verdicts(deployment, ruleset: RuleSet, case: dict, source: str = "case") -> pd.DataFrame:
    """The verdicts one case asks about: its input landed in a fresh SQLite store, then only the rules
    its expectations name judged (a named scorecard judges its own items; the rest of the file is not
    evaluated, which makes a case cost one rule rather than the whole file)."""
    from targetwatch.store.sqlite import SQLiteStore

    named = sorted({str(exp["rule"]) for exp in case.get("expect") or []})
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(Path(tmp) / "test.db")
        try:
            for n, batch in enumerate(case.get("input") or []):
                _ingest(store, batch, f"{source}.{n}")
            return evaluate(deployment, store, as_of=_iso(case["as_of"]), period=case.get("period"),
                            ruleset=ruleset, rules=named)
        finally:
            store.close()


def _run_case(deployment, ruleset, file: str, index: int, case: dict) -> TestResult:
    result = TestResult(file, str(case.get("name", f"test {index + 1}")))
    verdicts = case_verdicts(deployment, ruleset, case, f"{file}#{index}")
    for exp in case.get("expect") or []:
        got = verdicts[(verdicts["rule"] == exp["rule"]) & (verdicts["unit"] == exp["unit"])]
        if got.empty:
            judged = sorted(set(verdicts.loc[verdicts["rule"] == exp["rule"], "unit"]))
            why = f"units judged: {', '.join(judged)}" if judged else ("no such rule" if exp["rule"] not in ruleset.ids else "rule not judged at this period")
            result.failures.append(f"{exp['rule']} {exp['unit']}: no verdict ({why})")
            continue
        row = got.iloc[0]
        for key in _FIELDS:
            if key in exp and not _same(exp[key], row[key]):
                result.failures.append(f"{exp['rule']} {exp['unit']} {key}: expected {exp[key]!r}, got {_show(row[key])!r}")
    return result


def _ingest(store, batch: dict, source: str) -> None:
    code = periods.parse(str(batch["period"])).code
    frame = pd.DataFrame(
        [{"indicator": batch["indicator"], "unit": u, "period": code, "basis": batch.get("basis", "ytd"),
          "value": float(v), "row": i + 1, "sheet": None, "column": "value"} for i, (u, v) in enumerate(batch["values"].items())]
    )
    day = datetime.fromisoformat(_iso(batch["reported"])).replace(tzinfo=periods.TZ)
    store.ingest([StagedChunk(frame)], source=source, content_hash=source, reported_at=day)


def _iso(value) -> str:
    return value.isoformat() if isinstance(value, (date, datetime)) else str(value)


def _show(value):
    if value is None or (isinstance(value, float) and value != value) or value is pd.NA:
        return None
    return value.item() if hasattr(value, "item") else value


def _same(expected, got) -> bool:
    got = _show(got)
    if expected is None or got is None:
        return expected is None and got is None
    if isinstance(expected, bool) or isinstance(got, bool):
        return bool(expected) == bool(got) and type(expected) is type(got)
    if isinstance(expected, (int, float)) and isinstance(got, (int, float)):
        return abs(float(expected) - float(got)) <= 1e-6
    return str(expected) == str(got)
