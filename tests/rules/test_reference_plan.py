"""The engine agrees with the bench's independent DuckDB plan (bench/reference_plan.py) verdict for verdict.

A small irregular deployment of the bench's 100 rules (ten kinds): cells never reported, reports after
the deadline, later revisions, zero bases and denominators, ties. Each as-of date judges another mix of
no_data, late and judged units; the status, value and rank of every (rule, unit, period) must match.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

import rules
from targetwatch.deployment import load_deployment
from targetwatch.store.sqlite import SQLiteStore

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _bench_module(name: str):
    """A bench script as a module, without putting bench/ (ingest.py, sources.py, …) on sys.path."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    module = sys.modules[spec.name] = importlib.util.module_from_spec(spec)  # dataclasses look it up there
    spec.loader.exec_module(module)
    return module


bench = _bench_module("evaluate")  # the generator and the comparison
ReferencePlan = _bench_module("reference_plan").ReferencePlan

# Before anything of 2023-11 was reported; on the day most reports arrive; before and after the
# deadline (2023-12-15); at a month's end (December judged, nothing yet reported); in the next year.
AS_OF = ["2023-12-09", "2023-12-10", "2023-12-14", "2023-12-16", "2023-12-20", "2023-12-31", "2024-01-20"]


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench")
    bench.build(root, 100, years=2, irregular=True)
    dep = load_deployment(root)
    return root, dep, rules.load_rules(root, dep), ReferencePlan.load(root)


@pytest.mark.parametrize("as_of", AS_OF)
def test_engine_and_reference_plan_agree(deployment, as_of):
    root, dep, ruleset, plan = deployment
    store = SQLiteStore(root / "store.db")
    try:
        ours = rules.evaluate(dep, store, as_of=as_of, ruleset=ruleset)[bench.COMPARED]
    finally:
        store.close()
    theirs = plan.evaluate(root / "store.db", as_of).to_pandas()
    assert len(ours) == 8100  # 80 rules on all 100 units, 20 rank rules on a group of 5
    found = bench.mismatches(ours, theirs)
    assert {what: len(rows) for what, rows in found.items()} == {"only one side": 0, "status": 0, "value": 0, "rank": 0}, \
        {what: rows.head(5).to_dict("records") for what, rows in found.items() if len(rows)}


def test_irregular_data_reach_every_status(deployment):
    """The comparison means something only if the data produce every status and shared ranks."""
    root, dep, ruleset, _ = deployment
    store = SQLiteStore(root / "store.db")
    try:
        seen = set()
        for as_of in ("2023-12-14", "2023-12-20"):
            seen |= set(rules.evaluate(dep, store, as_of=as_of, ruleset=ruleset)["status"])
        ranks = rules.evaluate(dep, store, as_of="2023-12-20", ruleset=ruleset, rules=["r002_rank_top"])
    finally:
        store.close()
    assert seen == {"on_track", "at_risk", "behind", "late", "no_data"}
    assert ranks["rank"].dropna().duplicated().any()
