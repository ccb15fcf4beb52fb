"""`targetwatch jobs` and `targetwatch collect NAME`, through the real CLI."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from targetwatch.cli import app
from tests.collectors.schedule_helpers import LONG_CSV, write_collector


def test_collect_runs_one_collector_and_jobs_shows_its_last_run(deployment_dir):
    write_collector(deployment_dir, "monthly", """\
  files: ["monthly/*.csv"]
  sheets: [{shape: long}]
  schedule: {working_day: 3, at: "10:00"}
""")
    (deployment_dir / "monthly").mkdir()
    (deployment_dir / "monthly" / "retail.csv").write_text(LONG_CSV, encoding="utf-8")
    runner = CliRunner()
    done = runner.invoke(app, ["collect", "monthly", "--config", str(deployment_dir)])
    assert done.exit_code == 0, done.output
    assert "monthly: 1 batches, 3 rows, 3 new revisions, 0 quarantined, 1 ingested" in done.stdout
    listed = runner.invoke(app, ["jobs", "--config", str(deployment_dir), "--format", "json"])
    assert listed.exit_code == 0, listed.output
    [job] = json.loads(listed.stdout)
    assert {k: job[k] for k in ("collector", "source", "schedule", "last_result", "rows")} == {
        "collector": "monthly", "source": "files", "schedule": "working day 3 at 10:00",
        "last_result": "ok: 1 batches, 3 rows, 3 new revisions, 0 quarantined, 1 ingested", "rows": 3}
    assert job["next_run"].endswith("T10:00+08:00")


def test_collect_of_an_unknown_name_lists_the_known_ones(deployment_dir):
    write_collector(deployment_dir, "monthly", '  files: ["monthly/*.csv"]\n  sheets: [{shape: long}]\n')
    result = CliRunner().invoke(app, ["collect", "nope", "--config", str(deployment_dir)])
    assert result.exit_code == 2
    assert "no collector named 'nope'; known: monthly" in result.output


def test_collect_that_fails_exits_1_and_names_the_cause(deployment_dir, monkeypatch):
    monkeypatch.delenv("TW_MISSING_DB_URL", raising=False)
    write_collector(deployment_dir, "db", "  source: {kind: sql, url_env: TW_MISSING_DB_URL, query: SELECT 1}\n"
                    "  schedule: {every: 1h, retries: 0}\n  mapping: {fields: {unit: a, indicator: b, period: c, value: d}}\n")
    result = CliRunner().invoke(app, ["collect", "db", "--config", str(deployment_dir)])
    assert result.exit_code == 1
    assert "export TW_MISSING_DB_URL=" in result.output
