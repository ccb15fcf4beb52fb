"""The fuzz suite in CI: a fixed seed and a bounded budget of 2,000 cases (``make fuzz`` runs 20,000).

The bar: no traceback out of any command's library function, no failure caught only by a last-resort
net, no process abort (the run completes), and no non-finite or out-of-bounds value in the store.
"""

from __future__ import annotations

from tests.fuzz.targets import run

CI_SEED = 20_261_114
CI_CASES = 2_000


def test_two_thousand_seeded_hostile_inputs_end_in_results_or_located_errors_and_land_nothing_implausible(tmp_path):
    report = run(CI_CASES, CI_SEED, tmp_path)
    details = "\n".join(f"{f.target} case {f.case}: {f.error}" for f in report.tracebacks + report.unforeseen)
    assert report.total == CI_CASES
    assert set(report.cases) == {"period", "csv", "rule_yaml", "http", "sdmx", "xlsx", "ledger"}
    assert report.tracebacks == [] and report.unforeseen == [], details
    assert report.landed_bad == [], report.landed_bad
    assert report.landed > 0 and report.rejections > 0, report.summary()  # both paths were exercised
