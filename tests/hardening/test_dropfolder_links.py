"""The drop folder trusts nothing in it (issue 14): links and special files are refused unread, and a linked
``archive/`` or ``rejected/`` stops the collector before anything is read, moved or written."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from collectors.layout import load_collectors
from collectors.sources import collect
from targetwatch.cli import app
from targetwatch.deployment import load_deployment
from targetwatch.errors import SourceError
from tests.collectors.schedule_helpers import LONG_CSV, write_collector

DROP = """\
  files: ["drop/*.csv"]
  sheets: [{shape: long}]
  source: {kind: dropfolder, settle_seconds: 0}
"""
SECRET_LINE = "root-secret-line: only the service may read this\n"


@pytest.fixture
def drop(deployment_dir: Path, tmp_path: Path):
    write_collector(deployment_dir, "drop", DROP)
    folder = deployment_dir / "drop"
    folder.mkdir()
    private = tmp_path / "private.csv"  # stands for /etc/passwd: a file the service can read, the depositors cannot
    private.write_text(SECRET_LINE, encoding="utf-8")
    dep = load_deployment(deployment_dir)
    return dep, load_collectors(dep.root)[0], folder, private


def test_a_link_and_a_fifo_are_refused_unread_and_moved_as_they_are(drop, store):
    dep, collector, folder, private = drop
    (folder / "passwd.csv").symlink_to(private)
    os.mkfifo(folder / "pipe.csv")  # reading it would block the collector for ever
    (folder / "good.csv").write_text(LONG_CSV, encoding="utf-8")
    result = collect(dep, store, collector)
    assert sorted((Path(f.file).name, f.outcome) for f in result.files) == [
        ("good.csv", "archived"), ("passwd.csv", "refused"), ("pipe.csv", "refused")]
    moved = folder / "rejected" / "passwd.csv"
    assert moved.is_symlink() and os.readlink(moved) == str(private)  # the link itself moved; the target untouched
    assert stat.S_ISFIFO(os.lstat(folder / "rejected" / "pipe.csv").st_mode)
    assert private.read_text(encoding="utf-8") == SECRET_LINE
    everything = "".join(p.read_text(encoding="utf-8") for p in (folder / "rejected").glob("*.report.txt"))
    assert "refused" in everything and "root-secret-line" not in everything
    quarantine = store.quarantined()
    assert not quarantine.astype(str).apply(lambda col: col.str.contains("root-secret-line")).any().any()
    assert store.batches()["source"].tolist() == [str(folder / "good.csv")]


@pytest.mark.parametrize("linked", ["archive", "rejected"])
def test_a_linked_archive_or_rejected_folder_stops_the_collector_before_anything_moves(linked, drop, store, tmp_path):
    dep, collector, folder, _ = drop
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (folder / linked).symlink_to(elsewhere, target_is_directory=True)
    (folder / "good.csv").write_text(LONG_CSV, encoding="utf-8")
    (folder / "empty.csv").write_bytes(b"")
    with pytest.raises(SourceError, match=f"{linked}/ is a symbolic link: refusing"):
        collect(dep, store, collector)
    assert list(elsewhere.iterdir()) == []
    assert sorted(p.name for p in folder.iterdir()) == sorted(["good.csv", "empty.csv", linked])
    assert len(store.batches()) == 0


def test_the_ingest_command_refuses_a_link_and_reads_the_next_file(tmp_path, deployment_dir):
    private = tmp_path / "private.csv"
    private.write_text("unit,indicator,period,value\n北塔区,gdp,2023-Q2,10\n", encoding="utf-8")
    link = tmp_path / "link.csv"
    link.symlink_to(private)
    good = tmp_path / "good.csv"
    good.write_text("unit,indicator,period,value\n双清区,gdp,2023-Q2,11\n", encoding="utf-8")
    run = CliRunner().invoke(app, ["ingest", "--config", str(deployment_dir), str(link), str(good)])
    assert run.exit_code == 3 and "symbolic link is never read" in run.output, run.output
    shown = CliRunner().invoke(app, ["observations", "--config", str(deployment_dir), "--format", "csv"])
    assert "shuangqing" in shown.output and "beita" not in shown.output


def test_a_link_swapped_in_after_the_check_is_never_followed(tmp_path, deployment, db, monkeypatch):
    import collectors.ingest as ingest_module
    from collectors.ingest import ingest

    private = tmp_path / "private.csv"
    private.write_text("unit,indicator,period,value\n北塔区,gdp,2023-Q2,999\n", encoding="utf-8")
    dropped = tmp_path / "dropped.csv"
    dropped.write_text("unit,indicator,period,value\n北塔区,gdp,2023-Q2,10\n", encoding="utf-8")
    checked_open = ingest_module.open_regular

    def open_then_lose_the_race(path):
        fd = checked_open(path)
        path.unlink()
        path.symlink_to(private)  # the depositor swaps in a link between the check and the parser's open
        return fd

    monkeypatch.setattr(ingest_module, "open_regular", open_then_lose_the_race)
    (result,) = ingest(deployment, db, [dropped])
    assert result.ok and result.file == str(dropped)
    assert db.read(indicators=["gdp"])["value"].tolist() == [10.0]  # the checked file was read, not the link's target


@pytest.mark.parametrize("swapped", ["archive", "rejected"])
def test_a_folder_swapped_for_a_link_while_files_settle_receives_nothing_outside(swapped, drop, store, tmp_path, monkeypatch):
    """The folders are checked, then files settle (5 s by default): a depositor who renames ``archive/`` or
    ``rejected/`` and puts a link in its place during that wait must not redirect the moves or the reports."""
    import collectors.sources.dropfolder as dropfolder

    dep, collector, folder, _ = drop
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (folder / "good.csv").write_text(LONG_CSV, encoding="utf-8")
    (folder / "bad.csv").write_text("unit,indicator,period,value\n北塔区,gdp,2023-Q2,abc\n", encoding="utf-8")
    (folder / "empty.csv").write_bytes(b"")
    settle = dropfolder.settled_files

    def settle_while_the_depositor_swaps(paths, seconds):
        (folder / swapped).rename(folder / f"{swapped}.old")
        (folder / swapped).symlink_to(elsewhere, target_is_directory=True)
        return settle(paths, seconds)

    monkeypatch.setattr(dropfolder, "settled_files", settle_while_the_depositor_swaps)
    try:
        collect(dep, store, collector)
    except SourceError as exc:  # refusing once the swap is seen is as good as writing into the checked folder
        assert "symbolic link" in str(exc)
    assert list(elsewhere.iterdir()) == []  # no file moved and no report written through the link
    names = [p.name for p in folder.rglob("*") if p.is_file()]
    assert all(any(n.startswith(f) for n in names) for f in ("good.csv", "bad.csv", "empty.csv"))  # nothing lost
