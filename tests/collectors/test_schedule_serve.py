"""End to end on the example deployment: `targetwatch serve` runs the drop-folder collector; a department's
workbook dropped in lands in the store, the verdicts change, /metrics shows them, the leader's digest arrives,
and SIGTERM stops it cleanly."""

from __future__ import annotations

import re
import shutil
import urllib.request

import pytest

from targetwatch.deployment import load_deployment
from targetwatch.store.sqlite import SQLiteStore
from tests.conftest import EXAMPLE_CONFIG, free_port, stop, wait_http, wait_until
from tests.collectors.schedule_helpers import assert_one_collection_landed, digests_to, shaoyang_drop_folder, start_serve
from tests.exporters.receivers import Receiver, send_digests_to

pytestmark = pytest.mark.services
WORKBOOK = EXAMPLE_CONFIG / "inbox" / "shaoyang" / "邵阳市县市区主要经济指标_2023年1-6月.xlsx"
RULE, UNIT, LEADER = "dx_fiscal_revenue_above_city", "daxiang", "xia_xiangyang"


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
    shaoyang_drop_folder(deployment_dir, "{kind: dropfolder, settle_seconds: 0.5}", "{every: 2s, retries: 0}")
    hook = Receiver("webhook", free_port()).start()
    send_digests_to(deployment_dir, hook)
    dep = load_deployment(deployment_dir)
    port = free_port()
    log = tmp_path / "serve.log"
    serve = start_serve(deployment_dir, port, log, "300")
    try:
        wait_http(f"http://127.0.0.1:{port}/-/healthy", timeout=30)
        before = wait_until(lambda: status_of(scrape(port)), 30, "the first evaluation")
        assert before in ("late", "no_data")

        shutil.copy(WORKBOOK, deployment_dir / "drop" / WORKBOOK.name)
        wait_until(lambda: (deployment_dir / "drop" / "archive" / WORKBOOK.name).exists(), 30, "the workbook to be archived")
        store = SQLiteStore(dep.settings.sqlite_path)
        try:
            frame = store.read(indicators=["fiscal_revenue_growth"], units=[UNIT, "shaoyang"])
            assert sorted(frame.loc[frame.period == 20230606, "unit"]) == ["daxiang", "shaoyang"]
        finally:
            store.close()
        assert wait_until(lambda: status_of(scrape(port)) == "behind", 30, "the verdict to turn behind on /metrics")

        behind = ("【落后】地方一般公共预算收入增速高于全市平均水平（大祥区）：大祥区2023年6月地方一般公共预算收入增速为3.2%，"
                  "目标高于全市平均水平（3.8%），差0.6个百分点")

        assert wait_until(lambda: digests_to(hook, behind), 30, "the leader's digest") == [(LEADER, "目标预警｜2023-06｜夏向阳同志分管事项")]
        assert_one_collection_landed(dep)
        serve.terminate()
        assert serve.wait(timeout=30) == 0
    finally:
        stop(serve)
        hook.stop()
    logged = log.read_text(encoding="utf-8")
    assert f"drop folder shaoyang-monthly: {WORKBOOK.name} → {deployment_dir / 'drop' / 'archive' / WORKBOOK.name}" in logged
    assert "stopped" in logged
