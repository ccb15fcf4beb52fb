"""The drop folder driven by filesystem events: `serve` reads a dropped workbook without any schedule or poll
interval and the leader's digest arrives; the watcher never hands a half-written file to the collector."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest

from collectors.layout import load_collectors
from collectors.sources import collect
from collectors.sources.dropfolder import DropFolderWatcher
from targetwatch.deployment import load_deployment
from targetwatch.store.sqlite import SQLiteStore
from tests.collectors.schedule_helpers import (BEHIND, LEADER, LEADER_SUBJECT, LONG_CSV, WORKBOOK, assert_one_collection_landed,
                                              digests_to, serving_a_drop_folder, write_collector, write_slowly)
from tests.conftest import wait_until


@pytest.mark.services
def test_serve_reads_a_dropped_workbook_on_its_filesystem_event_and_the_digest_arrives(deployment_dir, tmp_path):
    # The default settle time; no schedule polls the folder.
    with serving_a_drop_folder(deployment_dir, tmp_path, "{kind: dropfolder}", None, "3600") as served:
        drop, log = served.drop, served.log
        wait_until(lambda: "evaluated" in log.read_text(encoding="utf-8"), 120, "the first (full) evaluation")
        assert f"drop folder shaoyang-monthly: watching {drop} with filesystem events" in log.read_text(encoding="utf-8")

        # As a department copies it: under a temporary name, then renamed into place.
        partial = drop / f".{WORKBOOK.name}.part"
        shutil.copyfile(WORKBOOK, partial)
        os.replace(partial, drop / WORKBOOK.name)

        assert wait_until(lambda: digests_to(served.hook, BEHIND), 60, "the leader's digest") == [(LEADER, LEADER_SUBJECT)]
        assert (drop / "archive" / WORKBOOK.name).exists() and not partial.exists()
        assert_one_collection_landed(served.dep)
    logged = log.read_text(encoding="utf-8")
    # The collection that read it asked for the rules reading its figures only, not a full cycle.
    assert "re-evaluated" in logged and "changed (indicator, period) pairs" in logged
    assert "polling" not in logged


def test_the_watcher_hands_over_only_settled_files_and_never_a_temporary_name(deployment_dir):
    write_collector(deployment_dir, "drop", '  files: ["drop/*.csv"]\n  sheets: [{shape: long}]\n  source: {kind: dropfolder, settle_seconds: 1.5}\n')
    drop = deployment_dir / "drop"
    drop.mkdir()
    dep = load_deployment(deployment_dir)
    collector = load_collectors(dep.root)[0]
    results = []
    lock = threading.Lock()

    def on_ready(name: str) -> None:
        with lock:  # as the scheduler does: runs of one collector never overlap, each with its own connection
            store = SQLiteStore(dep.settings.sqlite_path)
            try:
                results.append(collect(dep, store, collector))
            finally:
                store.close()

    watcher = DropFolderWatcher(on_ready)
    watcher.start()
    try:
        watcher.watch(dep, [collector])
        # Written in place under its final name, in pieces: the settle time passes only after the last one.
        write_slowly(LONG_CSV.encode("utf-8"), drop / "retail.csv")
        wait_until(lambda: (drop / "archive" / "retail.csv").exists(), 30, "the settled file to be read")
        # Written under a temporary name, then renamed: the temporary name is never read.
        september = LONG_CSV.replace("2025-08", "2025-09")
        write_slowly(september.encode("utf-8"), drop / "september.csv.part")
        os.replace(drop / "september.csv.part", drop / "september.csv")
        wait_until(lambda: (drop / "archive" / "september.csv").exists(), 30, "the renamed file to be read")
    finally:
        watcher.stop()
    with lock:
        files = [(Path(f.file).name, f.outcome) for r in results for f in r.files]
    assert files == [("retail.csv", "archived"), ("september.csv", "archived")]
    store = SQLiteStore(dep.settings.sqlite_path)
    batches = store.batches()
    store.close()
    assert batches["rows_read"].tolist() == [3, 3] and batches["quarantined"].tolist() == [0, 0]
    assert sorted(p.name for p in (drop / "archive").iterdir()) == ["retail.csv", "september.csv"]
