"""The /metrics collector: exact exposition of verdicts, info and operational families."""

from __future__ import annotations

from datetime import datetime, timezone

import pandas as pd
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from exporters.collector import ExporterState, TargetwatchCollector
from exporters.exposition import render
from collectors import runs
from targetwatch.store import StagedChunk

from tests.exporters.verdict_fixtures import good_verdict, verdict_frame

WU_YI_LABELS = ('indicator="industrial_va_growth",lead_department="daxiang_kgxj",leader="wu_yi",'
                'period="2023-06",rule="daxiang_industrial_va_growth",severity="critical"')


def samples(body: bytes) -> dict[tuple, float]:
    out = {}
    for family in text_string_to_metric_families(body.decode()):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_each_verdict_exposes_its_gauges_with_stable_id_labels(verdicts):
    body = render(TargetwatchCollector(ExporterState(verdicts=verdicts)))
    text = body.decode()
    assert f'targetwatch_verdict_value{{{WU_YI_LABELS},unit="daxiang"}} 5.1\n' in text
    assert f'targetwatch_verdict_gap{{{WU_YI_LABELS},unit="daxiang"}} -1.9\n' in text
    assert f'targetwatch_verdict_rank{{{WU_YI_LABELS},unit="daxiang"}} 9.0\n' in text
    assert f'targetwatch_verdict_group_size{{{WU_YI_LABELS},unit="daxiang"}} 12.0\n' in text
    assert f'targetwatch_verdict_stretch_met{{{WU_YI_LABELS},unit="daxiang"}} 0.0\n' in text
    # No rank for a rule that does not rank, and no required run-rate where none applies: absent, not NaN.
    assert "NaN" not in text
    assert text.count("targetwatch_verdict_rank{") == 2
    assert "targetwatch_verdict_required_run_rate{" not in text


def test_status_is_a_stateset_with_one_series_per_status(verdicts):
    got = samples(render(TargetwatchCollector(ExporterState(verdicts=verdicts))))
    status = {dict(k[1])["status"]: v for k, v in got.items()
              if k[0] == "targetwatch_verdict_status" and dict(k[1])["unit"] == "daxiang" and dict(k[1])["leader"] == "wu_yi"}
    assert status == {"behind": 1.0, "late": 0.0, "at_risk": 0.0, "no_data": 0.0, "on_track": 0.0}
    assert sum(1 for k in got if k[0] == "targetwatch_verdict_status") == 15


def test_fast_rendering_equals_prometheus_client_byte_for_byte(verdicts):
    tricky = good_verdict(unit='a"b\\c\nd', rule="rule_with_run_rate", required_run_rate=1234567.5, value=-0.0001)
    # -0.0 and 0.0 compare equal but print differently ("-0.0", "0.0"): both must come out as written.
    signed_zeros = [good_verdict(unit=f"zero{i}", rule="signed_zero", value=v, gap=-v) for i, v in enumerate((0.0, -0.0, 0.0))]
    frame = pd.concat([verdicts, verdict_frame(tricky), *map(verdict_frame, signed_zeros)], ignore_index=True)
    collector = TargetwatchCollector(ExporterState(verdicts=frame))
    registry = CollectorRegistry()
    registry.register(collector)
    assert render(collector) == generate_latest(registry)


def test_an_empty_frame_still_exposes_every_family_header():
    text = render(TargetwatchCollector(ExporterState())).decode()
    for name in ("value", "target", "gap", "rank", "group_size", "required_run_rate", "stretch_met", "status"):
        assert f"# TYPE targetwatch_verdict_{name} gauge\n" in text


def test_info_metrics_carry_the_chinese_names(deployment):
    collector = TargetwatchCollector(ExporterState(), deployment=deployment,
                                     rule_infos=lambda: [("daxiang_industrial_va_growth", "规模工业增加值增速增长7%以上", "大祥区2023年5-6月重点工作任务清单")])
    got = samples(render(collector))
    assert got[("targetwatch_unit_info", (("kind", "district"), ("name", "大祥区"), ("parent", "shaoyang"), ("unit", "daxiang")))] == 1
    assert got[("targetwatch_indicator_info", (("indicator", "gdp"), ("measure", "亿元"), ("name", "地区生产总值")))] == 1
    assert got[("targetwatch_person_info", (("name", "伍毅"), ("person", "wu_yi"), ("title", "分管副区长")))] == 1
    assert got[("targetwatch_rule_info", (("document", "大祥区2023年5-6月重点工作任务清单"), ("rule", "daxiang_industrial_va_growth"), ("title", "规模工业增加值增速增长7%以上")))] == 1


def test_ingest_and_run_counters_come_from_what_is_on_disk(store, tmp_path):
    good = pd.DataFrame({"indicator": ["gdp"] * 3, "unit": ["daxiang", "beita", "wugang"], "period": [202306] * 3,
                         "basis": ["ytd"] * 3, "value": [1.0, 2.0, 3.0], "row": [2, 3, 4], "sheet": [None] * 3, "column": ["C"] * 3})
    bad = pd.DataFrame({"sheet": [None], "row": [5], "column": ["C"], "reason": ["not a number"], "raw": ["abc"]})
    store.ingest([StagedChunk(good, bad)], source="inbox/gdp.csv", content_hash="h1",
                 reported_at=datetime(2023, 7, 20, tzinfo=timezone.utc))
    jobs = tmp_path / "targetwatch.jobs.db"
    at = datetime(2023, 7, 20, tzinfo=timezone.utc)
    for status in ("ok", "failed", "missed", "ok"):
        runs.record_run(jobs, "gdp_csv", scheduled_for=at, started_at=at, finished_at=at, status=status, attempts=1)
    runs.record_run(jobs, "retail_xlsx", scheduled_for=at, started_at=at, finished_at=at, status="ok", attempts=1)
    collector = TargetwatchCollector(ExporterState(), batches=store.batches, runs=lambda: runs.run_history(jobs))
    got = samples(render(collector))
    assert got[("targetwatch_rows_ingested_total", (("source", "inbox/gdp.csv"),))] == 3
    assert got[("targetwatch_rows_quarantined_total", (("source", "inbox/gdp.csv"),))] == 1
    assert got[("targetwatch_collector_runs_total", (("collector", "gdp_csv"),))] == 3  # a missed run did not run
    assert got[("targetwatch_collector_failures_total", (("collector", "gdp_csv"),))] == 1
    assert got[("targetwatch_collector_failures_total", (("collector", "retail_xlsx"),))] == 0
    landed = store.batches()["ingested_at"].iloc[0].timestamp()
    assert got[("targetwatch_last_successful_ingest_timestamp_seconds", (("source", "inbox/gdp.csv"),))] == landed


def test_a_source_that_cannot_be_read_leaves_the_scrape_standing_and_says_so(verdicts):
    import sqlite3

    def locked():
        raise sqlite3.OperationalError("database is locked")

    def history():
        return pd.DataFrame({"collector": ["shaoyang-monthly"], "status": ["ok"]})

    collector = TargetwatchCollector(ExporterState(verdicts=verdicts), runs=history, batches=locked, notifications=locked)
    got = samples(render(collector))
    assert got[("targetwatch_scrape_source_up", (("source", "batches"),))] == 0
    assert got[("targetwatch_scrape_source_up", (("source", "notifications"),))] == 0
    assert got[("targetwatch_scrape_source_up", (("source", "runs"),))] == 1
    assert any(name == "targetwatch_verdict_value" for name, _ in got)


def test_running_three_times_over_the_same_inbox_moves_neither_rows_ingested_nor_the_last_ingest_time(deployment_dir):
    import time

    from typer.testing import CliRunner

    from collectors.schedule import jobs
    from targetwatch.cli import app
    from targetwatch.deployment import load_deployment
    from targetwatch.store.sqlite import SQLiteStore

    dep = load_deployment(deployment_dir)

    def run_and_scrape() -> dict[tuple, float]:
        result = CliRunner().invoke(app, ["run", "--config", str(deployment_dir), "--as-of", "2023-07-20"])
        assert result.exit_code == 0, result.output
        store = SQLiteStore(dep.settings.sqlite_path)
        try:
            collector = TargetwatchCollector(ExporterState(), batches=store.batches,
                                             runs=lambda: runs.run_history(runs.jobs_db_path(dep.settings)))
            return samples(render(collector))
        finally:
            store.close()

    def family(got: dict, name: str) -> dict[tuple, float]:
        return {labels: value for (metric, labels), value in got.items() if metric == name}

    first = run_and_scrape()
    time.sleep(1.1)  # ingest times are whole seconds: the later runs land in a later second
    run_and_scrape()
    third = run_and_scrape()
    ingested = family(first, "targetwatch_rows_ingested_total")
    assert ingested and all(v > 0 for v in ingested.values())
    assert family(third, "targetwatch_rows_ingested_total") == ingested
    assert family(third, "targetwatch_last_successful_ingest_timestamp_seconds") == family(first, "targetwatch_last_successful_ingest_timestamp_seconds")
    # The rows read again are counted apart: every row the first run read was read unchanged twice since.
    read_once = sum(ingested.values()) + sum(family(first, "targetwatch_rows_unchanged_total").values())
    assert sum(family(third, "targetwatch_rows_unchanged_total").values()) == read_once * 3 - sum(ingested.values())
    # `run` records its runs where `jobs` and /metrics read the scheduler's.
    assert set(family(third, "targetwatch_collector_runs_total").values()) == {3.0}
    listed = jobs(dep)
    assert listed["last_result"].str.startswith("ok: targetwatch run:").all() and (listed["rows"] > 0).all()


def test_a_collection_that_skips_already_ingested_files_counts_them_apart(deployment):
    from collectors.schedule import collect

    first, second = collect(deployment, "long-csv"), collect(deployment, "long-csv")
    assert first.skipped == 0 and first.revisions_added > 0
    assert second.skipped == len(second.files) > 0 and second.batches == []
    collector = TargetwatchCollector(ExporterState(), runs=lambda: runs.run_history(runs.jobs_db_path(deployment.settings)))
    got = samples(render(collector))
    assert got[("targetwatch_files_skipped_total", (("collector", "long-csv"),))] == len(second.files)
    assert got[("targetwatch_collector_runs_total", (("collector", "long-csv"),))] == 2


def test_rows_quarantined_counts_every_read_of_a_bad_row_and_its_help_says_so(deployment, db, tmp_path):
    # The quarantine keeps a bad row once, but each read of its file quarantines it again: the counter
    # follows the reads (like rows read), and its HELP must say so rather than suggest the quarantine's size.
    from collectors.ingest import ingest_file

    csv = tmp_path / "bad.csv"
    csv.write_text("unit,indicator,period,value\ndaxiang,gdp,2023-06,abc\n", encoding="utf-8")
    for _ in range(2):
        assert not ingest_file(deployment, db, csv, collectors=[]).ok
    assert len(db.quarantined()) == 1
    body = render(TargetwatchCollector(ExporterState(), batches=db.batches))
    assert samples(body)[("targetwatch_rows_quarantined_total", (("source", str(csv)),))] == 2
    [family] = [f for f in text_string_to_metric_families(body.decode()) if f.name == "targetwatch_rows_quarantined"]
    assert "every read" in family.documentation and "once" in family.documentation, family.documentation
