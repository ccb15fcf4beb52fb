"""End to end on the example deployment: `targetwatch serve` runs the drop-folder collector; a department's
workbook dropped in lands in the store, the verdicts change, /metrics shows them, the leader's digest arrives,
and SIGTERM stops it cleanly."""

from __future__ import annotations

import re
import shutil
import urllib.request

import pytest

from targetwatch.store.sqlite import SQLiteStore
from tests.collectors.schedule_helpers import (BEHIND, LEADER, LEADER_SUBJECT, WORKBOOK, assert_one_collection_landed, digests_to,
                                              serving_a_drop_folder)
from tests.conftest import wait_until

pytestmark = pytest.mark.services
RULE, UNIT = "dx_fiscal_revenue_above_city", "daxiang"


def status_of(metrics: str) -> str | None:
    """The status whose targetwatch_verdict_status sample is 1 for the watched rule and unit."""
    for line in metrics.splitlines():
        if (line.startswith("targetwatch_verdict_status{") and f'rule="{RULE}"' in line and f'unit="{UNIT}"' in line
                and line.rsplit(" ", 1)[1] in ("1", "1.0")):
            return re.search(r'status="([a-z_]+)"', line).group(1)
    return None


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        return resp.read().decode()


def test_a_dropped_workbook_reaches_store_verdicts_metrics_and_the_leaders_digest(deployment_dir, tmp_path):
    with serving_a_drop_folder(deployment_dir, tmp_path, "{kind: dropfolder, settle_seconds: 0.5}", "{every: 2s, retries: 0}",
                               "300") as served:
        log, port = served.log, served.port
        before = wait_until(lambda: status_of(scrape(port)), 30, "the first evaluation")
        assert before in ("late", "no_data")

        shutil.copy(WORKBOOK, served.drop / WORKBOOK.name)
        wait_until(lambda: (served.drop / "archive" / WORKBOOK.name).exists(), 30, "the workbook to be archived")
        store = SQLiteStore(served.dep.settings.sqlite_path)
        try:
            frame = store.read(indicators=["fiscal_revenue_growth"], units=[UNIT, "shaoyang"])
            assert sorted(frame.loc[frame.period == 20230606, "unit"]) == ["daxiang", "shaoyang"]
        finally:
            store.close()
        assert wait_until(lambda: status_of(scrape(port)) == "behind", 30, "the verdict to turn behind on /metrics")
        assert wait_until(lambda: digests_to(served.hook, BEHIND), 30, "the leader's digest") == [(LEADER, LEADER_SUBJECT)]
        assert_one_collection_landed(served.dep)
    logged = log.read_text(encoding="utf-8")
    assert f"drop folder shaoyang-monthly: {WORKBOOK.name} → {deployment_dir / 'drop' / 'archive' / WORKBOOK.name}" in logged
    assert "stopped" in logged
