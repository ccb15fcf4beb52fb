"""Findings of the hardening campaign (issue 14) about files: each one reproduced, each one now a located rejection.

Every hostile file is generated here, never committed. Each test runs the hostile file first and a
good file after it in the same command, because the finding was also that the later files were lost.
"""

from __future__ import annotations

import os
import shutil
import struct
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from collectors.ingest import ingest
from collectors.layout import load_collectors
from collectors.sources import collect
from targetwatch import console
from targetwatch.cli import app
from targetwatch.deployment import load_deployment
from tests.hardening.workbooks import far_corner_sheet, rows_sheet, whitespace_bomb, xlsx

GOOD_CSV = "unit,indicator,period,value\n北塔区,gdp,2023-Q2,10\n"
GDP_BOOK = "inbox/shaoyang/邵阳市县市区地区生产总值_{}.xlsx"


def _good_csv(tmp_path: Path) -> Path:
    path = tmp_path / "good.csv"
    path.write_text(GOOD_CSV, encoding="utf-8")
    return path


def _settings(deployment_dir: Path, extra: str) -> None:
    with open(deployment_dir / "settings.yaml", "a", encoding="utf-8") as fh:
        fh.write(extra)


def _assert_rejected_then_next_lands(results, db, reason: str, where: str | None = None):
    bad, good = results
    assert bad.rejected and reason in bad.error, bad.error
    if where:
        assert where in bad.error, bad.error
    rejected = db.quarantined(bad.file)
    assert len(rejected) == 1 and rejected["reason"].iat[0].startswith("file rejected:"), rejected
    assert good.ok and good.batch.revisions_added == 1
    assert db.read(indicators=["gdp"])["value"].tolist() == [10.0]


@pytest.mark.parametrize("shape, parts, reason", [
    ("far_corner", far_corner_sheet, "the sheet declares the dimension A1:XFD1048576"),
    ("whitespace_bomb", whitespace_bomb, "bytes uncompressed, over the limit of 536,870,912"),
    ("two_million_rows", lambda: rows_sheet(2_000_000), "rows or more, over the limit of 1,048,576"),
])
def test_each_xlsx_that_aborted_the_process_is_rejected_before_parsing_and_the_next_file_lands(
        shape, parts, reason, tmp_path, deployment, db):
    book = xlsx(deployment.root / GDP_BOOK.format(shape), parts())
    assert book.stat().st_size < 16 * 2**20  # a few MB at most: the bomb is in what it declares or holds
    results = ingest(deployment, db, [book, _good_csv(tmp_path)])
    _assert_rejected_then_next_lands(results, db, reason, where=str(book))


def test_a_workbook_that_kills_its_parser_is_a_located_rejection_not_an_abort(tmp_path, deployment_dir):
    # With the limits before parsing lifted, the far-corner sheet reaches calamine, which aborts (SIGABRT)
    # on the allocation: in the child process, so the command goes on.
    _settings(deployment_dir, "limits: {sheet_rows: 2000000, sheet_cells: 100000000000, parser_memory_mb: 512}\n")
    dep = load_deployment(deployment_dir)
    from targetwatch.store.sqlite import SQLiteStore

    db = SQLiteStore(dep.settings.sqlite_path)
    try:
        book = xlsx(dep.root / GDP_BOOK.format("far"), far_corner_sheet())
        results = ingest(dep, db, [book, _good_csv(tmp_path)])
        _assert_rejected_then_next_lands(results, db, "the workbook parser died (SIGABRT) within its memory limit of 512 MB")
    finally:
        db.close()


def test_the_ingest_command_exits_3_for_a_rejected_file_prints_no_traceback_and_reads_the_rest(tmp_path, deployment_dir):
    book = xlsx(deployment_dir / GDP_BOOK.format("far"), far_corner_sheet())
    quarantined = tmp_path / "q.csv"
    quarantined.write_text(GOOD_CSV + "火星区,gdp,2023-Q2,1\n", encoding="utf-8")
    run = CliRunner().invoke(app, ["ingest", "--config", str(deployment_dir), str(book), str(quarantined)])
    assert run.exit_code == console.EXIT_REJECTED == 3, run.output
    assert "Traceback" not in run.output and "A1:XFD1048576" in run.output
    only_rows = CliRunner().invoke(app, ["ingest", "--config", str(deployment_dir), str(quarantined)])
    assert only_rows.exit_code == console.EXIT_INPUT == 1, only_rows.output
    clean = _good_csv(tmp_path)
    clean.write_text(GOOD_CSV.replace("10", "11"), encoding="utf-8")
    assert CliRunner().invoke(app, ["ingest", "--config", str(deployment_dir), str(clean)]).exit_code == 0
    bad_config = CliRunner().invoke(app, ["ingest", "--config", str(tmp_path / "nowhere"), str(clean)])
    assert bad_config.exit_code == console.EXIT_CONFIG == 2


def test_a_bomb_in_the_drop_folder_moves_to_rejected_with_its_reason_and_is_not_read_again(deployment_dir, store):
    (deployment_dir / "collectors" / "drop.yaml").write_text(
        (deployment_dir / "collectors" / "shaoyang-gdp.yaml").read_text(encoding="utf-8")
        .replace("name: shaoyang-gdp", "name: drop").replace("inbox/shaoyang/", "drop/")
        .replace("source: {kind: files}", "source: {kind: dropfolder, settle_seconds: 0}"), encoding="utf-8")
    (deployment_dir / "drop").mkdir()
    dep = load_deployment(deployment_dir)
    collector = next(c for c in load_collectors(dep.root) if c.metadata.name == "drop")
    bomb = xlsx(dep.root / "drop" / "邵阳市县市区地区生产总值_bomb.xlsx", rows_sheet(2_000_000))
    shutil.copy(deployment_dir / "inbox/shaoyang/邵阳市县市区地区生产总值_2023年二季度.xlsx", dep.root / "drop")
    first = collect(dep, store, collector)
    outcomes = {Path(f.file).name: f.outcome for f in first.files}
    assert outcomes == {bomb.name: "rejected", "邵阳市县市区地区生产总值_2023年二季度.xlsx": "archived"}
    report = dep.root / "drop" / "rejected" / (bomb.name + ".report.txt")
    assert "rows or more, over the limit" in report.read_text(encoding="utf-8")
    assert first.revisions_added > 0
    assert collect(dep, store, collector).files == []  # nothing left to retry


CSV_HEADER_OVER = "unit,indicator,period,value," + "h" * 140_000 + "\n北塔区,gdp,2023-Q2,10,x\n"
CSV_EXTRA_FIELDS = "unit,indicator,period,value\n北塔区,gdp,2023-Q2,10\n北塔区,gdp,2023-Q3,11,extra," + "x" * 200_000 + "\n"


@pytest.mark.parametrize("text, where", [(CSV_HEADER_OVER, "line 1 "), (CSV_EXTRA_FIELDS, "line 3 ")])
def test_a_csv_over_the_field_limit_is_rejected_at_its_line_and_the_next_file_lands(text, where, tmp_path, deployment, db):
    bad = tmp_path / "bad.csv"
    bad.write_text(text, encoding="utf-8")
    results = ingest(deployment, db, [bad, _good_csv(tmp_path)])
    _assert_rejected_then_next_lands(results, db, "longer than 131,072 bytes", where=where)


def test_with_a_raised_line_limit_the_csv_modules_own_field_limit_is_a_located_rejection(tmp_path, deployment_dir):
    _settings(deployment_dir, "limits: {csv_line_bytes: 10000000}\n")
    dep = load_deployment(deployment_dir)
    from targetwatch.store.sqlite import SQLiteStore

    db = SQLiteStore(dep.settings.sqlite_path)
    try:
        bad = tmp_path / "bad.csv"
        bad.write_text(CSV_EXTRA_FIELDS, encoding="utf-8")
        results = ingest(dep, db, [bad, _good_csv(tmp_path)])
        _assert_rejected_then_next_lands(results, db, "unreadable CSV at line 3: field larger than field limit")
    finally:
        db.close()


def _patch_core_xml(book: Path, *, corrupt: bool = False, encrypted: bool = False) -> None:
    """Break docProps/core.xml in place: garbage in its deflate stream, or the 'encrypted' flag bit set."""
    data = bytearray(book.read_bytes())
    with zipfile.ZipFile(book) as zf:
        info = zf.getinfo("docProps/core.xml")
    local = info.header_offset
    name_len, extra_len = struct.unpack("<HH", data[local + 26:local + 30])
    start = local + 30 + name_len + extra_len
    if corrupt:
        data[start:start + 8] = b"\xff" * 8
    if encrypted:
        data[local + 6] |= 0x1
        central = data.find(b"PK\x01\x02")  # this member's central directory entry, found by name
        while central != -1:
            n = struct.unpack("<H", data[central + 28:central + 30])[0]
            if data[central + 46:central + 46 + n] == info.filename.encode():
                data[central + 8] |= 0x1
                break
            central = data.find(b"PK\x01\x02", central + 4)
    book.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", [{"corrupt": True}, {"encrypted": True}])
def test_a_broken_document_property_falls_back_to_the_file_time_and_the_workbook_still_lands(damage, deployment, db):
    book = deployment.root / GDP_BOOK.format("2023年二季度")
    _patch_core_xml(book, **damage)
    os.utime(book, (1_700_000_000, 1_700_000_000))
    (result,) = ingest(deployment, db, [book])  # shaoyang-gdp takes reported_at from the document
    assert result.ok and result.batch.revisions_added > 0, result.error
    assert str(db.batches()["reported_at"].iat[0]).startswith("2023-11-14")


def test_a_failure_nobody_foresaw_rejects_that_file_and_the_next_file_still_lands(tmp_path, deployment, db, monkeypatch):
    import collectors.ingest as ingest_module
    from collectors.validate import validate as real_validate

    def fragile(raw, dep, counts=None):
        if (raw["unit"] == "火星区").any():
            raise KeyError("a bug in a check")
        return real_validate(raw, dep, counts)

    monkeypatch.setattr(ingest_module, "validate", fragile)
    bad = tmp_path / "bad.csv"
    bad.write_text("unit,indicator,period,value\n火星区,gdp,2023-Q2,1\n", encoding="utf-8")
    results = ingest(deployment, db, [bad, _good_csv(tmp_path)])
    _assert_rejected_then_next_lands(results, db, "cannot be read: KeyError: 'a bug in a check'", where=str(bad))


def test_an_internal_error_in_a_command_is_one_line_and_exit_4(deployment_dir, monkeypatch):
    def broken(*args, **kwargs):
        raise ZeroDivisionError("division by zero somewhere deep")

    monkeypatch.setattr(console, "open_store", broken)
    run = CliRunner().invoke(app, ["observations", "--config", str(deployment_dir)])
    assert run.exit_code == console.EXIT_INTERNAL == 4
    assert "internal error: ZeroDivisionError: division by zero somewhere deep" in run.output
    assert "Traceback" not in run.output


def test_a_broken_sdmx_message_is_a_located_error_and_prints_nothing(deployment_dir, store, capfd):
    # sdmx1 dumps its parser stacks and the failing element to stdout: the payload would reach the terminal.
    from targetwatch.errors import SourceError
    from tests.collectors.schedule_helpers import write_collector

    (deployment_dir / "feeds").mkdir()
    message = (Path(__file__).parents[1] / "collectors" / "data" / "sdmx_wb_wits_tariff.xml").read_text(encoding="utf-8")
    (deployment_dir / "feeds" / "m.xml").write_text(message.replace("<generic:Series>", "<generic:Series><generic:Oops/>", 1),
                                                  encoding="utf-8")
    write_collector(deployment_dir, "m", "  source: {kind: sdmx, file: feeds/m.xml}\n"
                    "  mapping: {fields: {unit: REPORTER, period: TIME_PERIOD, value: value}, fixed: {indicator: gdp}}\n")
    dep = load_deployment(deployment_dir)
    capfd.readouterr()
    with pytest.raises(SourceError, match="not a readable SDMX data message"):
        collect(dep, store, load_collectors(dep.root)[0])
    assert capfd.readouterr().out == ""


@pytest.mark.parametrize("where", ["ledgers/bomb.xlsx", "inbox/unmapped_bomb.xlsx"])
def test_a_ledger_bomb_is_rejected_before_parsing_like_any_workbook_and_the_next_file_lands(where, tmp_path, deployment, db):
    # The 项目台账 reader (issue 12) and its sniffing of unmapped workbooks parsed in-process without the
    # limits: this file aborted the whole command (SIGABRT, exit 134) whether the ledger glob named it or not.
    book = xlsx(deployment.root / where, far_corner_sheet())
    results = ingest(deployment, db, [book, _good_csv(tmp_path)])
    _assert_rejected_then_next_lands(results, db, "the sheet declares the dimension A1:XFD1048576")


def test_a_ledger_that_is_a_symbolic_link_is_refused_by_ingest_ledger_itself(tmp_path, deployment, db):
    # ``ingest`` lstat-checks before dispatching, but ingest_ledger is public and checked with is_file(),
    # which follows links: it read a ledger from wherever the link pointed.
    from collectors.projects import ingest_ledger

    outside = shutil.copy(next((deployment.root / "ledgers").glob("*.xlsx")), tmp_path / "elsewhere.xlsx")
    link = deployment.root / "ledgers" / "link.xlsx"
    link.symlink_to(outside)
    result = ingest_ledger(deployment, db, link)
    assert result.rejected and "symbolic link" in result.error, result.error
    assert result.batch is None and db.read().empty
