"""The drop folder: a slowly copied file is not read half-way, a duplicate is skipped, a bad file is rejected."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

from collectors.ingest import content_hash
from collectors.layout import load_collectors
from collectors.sources import collect
from targetwatch.deployment import load_deployment
from tests.collectors.schedule_helpers import LONG_CSV, write_collector, write_slowly

DROP = """\
  files: ["drop/*.csv"]
  sheets: [{shape: long}]
  source: {kind: dropfolder, settle_seconds: 0.4}
"""


def _setup(deployment_dir: Path):
    write_collector(deployment_dir, "drop", DROP)
    (deployment_dir / "drop").mkdir()
    dep = load_deployment(deployment_dir)
    return dep, load_collectors(dep.root)[0]



def test_a_file_still_being_copied_is_left_until_it_settles(deployment_dir, store):
    dep, collector = _setup(deployment_dir)
    target = dep.root / "drop" / "retail.csv"
    copier = threading.Thread(target=write_slowly, args=(LONG_CSV.encode("utf-8"), target, 6, 0.25))
    copier.start()
    time.sleep(0.1)
    during = collect(dep, store, collector)
    copier.join()
    assert [(Path(f.file).name, f.outcome) for f in during.files] == [("retail.csv", "unsettled")]
    assert len(store.batches()) == 0 and target.exists()
    after = collect(dep, store, collector)
    assert [(Path(f.file).name, f.outcome) for f in after.files] == [("retail.csv", "archived")]
    assert (after.rows, after.quarantined) == (3, 0)
    assert sorted(p.name for p in (dep.root / "drop" / "archive").iterdir()) == ["retail.csv"]
    assert not target.exists()


def test_a_duplicate_is_archived_unread_and_a_bad_file_is_rejected_with_a_report(deployment_dir, store):
    dep, collector = _setup(deployment_dir)
    drop = dep.root / "drop"
    (drop / "august.csv").write_text(LONG_CSV, encoding="utf-8")
    time.sleep(0.5)
    first = collect(dep, store, collector)
    assert [f.outcome for f in first.files] == ["archived"]

    (drop / "august-again.csv").write_text(LONG_CSV, encoding="utf-8")  # same content, new name
    (drop / "empty.csv").write_bytes(b"")
    (drop / "~$august.csv").write_text("lock", encoding="utf-8")  # an Office lock file: never read
    (drop / "partly-bad.csv").write_text("unit,indicator,period,value\n大祥区,社会消费品零售总额,2025-09,105\n火星区,社会消费品零售总额,2025-09,1\n", encoding="utf-8")
    time.sleep(0.5)
    second = collect(dep, store, collector)
    outcomes = sorted((Path(f.file).name, f.outcome) for f in second.files)
    assert outcomes == [("august-again.csv", "duplicate"), ("empty.csv", "rejected"), ("partly-bad.csv", "archived")]
    assert sorted(p.name for p in (drop / "archive").iterdir()) == [
        "august-again.csv", "august.csv", "partly-bad.csv", "partly-bad.csv.report.txt"]
    assert sorted(p.name for p in (drop / "rejected").iterdir()) == ["empty.csv", "empty.csv.report.txt"]
    assert (drop / "rejected" / "empty.csv.report.txt").read_text(encoding="utf-8") == (
        f"文件 / file: {drop / 'empty.csv'}\n"
        f"拒收原因 / rejected: {drop / 'empty.csv'}: empty file: no header and no rows\n"
        "隔离行 / quarantined rows: 1\n"
        "  empty.csv: file rejected: empty file: no header and no rows\n")
    assert (drop / "archive" / "partly-bad.csv.report.txt").read_text(encoding="utf-8").splitlines()[-1] == (
        "  partly-bad.csv, row 3, column 'unit': unknown unit '火星区'")
    assert (drop / "~$august.csv").exists()
    # The duplicate added no batch; the store holds August once and September for 大祥区.
    assert len(store.batches()) == 3
    frame = store.read()
    assert sorted(frame.loc[frame.unit == "daxiang", "period"].tolist()) == [20250808, 20250909]


def test_a_second_file_with_a_taken_name_does_not_overwrite_the_archive(deployment_dir, store):
    dep, collector = _setup(deployment_dir)
    drop = dep.root / "drop"
    (drop / "monthly.csv").write_text(LONG_CSV, encoding="utf-8")
    time.sleep(0.5)
    collect(dep, store, collector)
    (drop / "monthly.csv").write_text(LONG_CSV.replace("101.5", "102.0"), encoding="utf-8")
    digest = content_hash(drop / "monthly.csv")
    time.sleep(0.5)
    collect(dep, store, collector)
    assert sorted(p.name for p in (drop / "archive").iterdir()) == sorted(["monthly.csv", f"monthly.{digest[:12]}.csv"])
    assert store.revisions("retail_sales", "daxiang")["value"].tolist() == [101.5, 102.0]


def test_a_mapping_that_dates_reports_by_the_workbook_keeps_that_date(deployment_dir, store):
    from collectors.ingest import document_time
    from tests.conftest import EXAMPLE_CONFIG

    workbook = EXAMPLE_CONFIG / "inbox" / "shaoyang" / "邵阳市县市区主要经济指标_2023年1-6月.xlsx"
    mapping = deployment_dir / "collectors" / "shaoyang-monthly.yaml"
    text = mapping.read_text(encoding="utf-8")
    assert "reported_at: document" in text
    assert "source: {kind: files}" in text
    mapping.write_text(text.replace('files: ["inbox/shaoyang/邵阳市县市区主要经济指标_*.xlsx"]', 'files: ["drop/*.xlsx"]')
                       .replace("source: {kind: files}", "source: {kind: dropfolder, settle_seconds: 0}"), encoding="utf-8")
    (deployment_dir / "drop").mkdir()
    shutil.copy(workbook, deployment_dir / "drop" / workbook.name)
    dep = load_deployment(deployment_dir)
    collector = next(c for c in load_collectors(dep.root) if c.metadata.name == "shaoyang-monthly")
    result = collect(dep, store, collector)
    assert [f.outcome for f in result.files] == ["archived"]
    assert store.batches()["reported_at"].tolist() == [document_time(workbook)]
