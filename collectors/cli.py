"""Commands of the collectors stage: ingest, observations, quarantine."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import pandas as pd
import typer
from rich.progress import BarColumn, Progress, TextColumn

from collectors.ingest import IngestResult, ingest
from targetwatch import console, periods
from targetwatch.private import write_private


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest_command)
    app.command("observations")(observations_command)
    quarantine = typer.Typer(help="List and export quarantined rows.", no_args_is_help=True)
    quarantine.command("list")(quarantine_list)
    quarantine.command("export")(quarantine_export)
    app.add_typer(quarantine, name="quarantine")
    app.command("jobs")(jobs_command)
    app.command("collect")(collect_command)


@console.command
def ingest_command(
    files: List[Path] = typer.Argument(..., help="CSV or Excel files"),
    config: Optional[Path] = console.ConfigOption,
    reported_at: Optional[str] = typer.Option(None, help="report time of these files (ISO date or datetime); default now"),
) -> None:
    """Ingest files into the store; exits 1 when rows were quarantined, 3 when a whole file was rejected."""
    ctx = console.Context(config)
    when = periods.as_of_instant(reported_at) if reported_at else None
    try:
        results = run_ingest(ctx, files, when)
    finally:
        ctx.close()
    print_summary(results)
    code = console.ingest_exit_code(results)
    if code:
        raise typer.Exit(code)


def run_ingest(ctx: console.Context, files, reported_at=None) -> list[IngestResult]:
    """Ingest with a progress bar on stderr."""
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  console=console.err, transient=True) as progress:
        task = progress.add_task("ingesting", total=len(files))
        return ingest(ctx.deployment, ctx.store, files, reported_at=reported_at,
                      progress=lambda r: progress.advance(task))


def print_summary(results: list[IngestResult]) -> None:
    rows = []
    for r in results:
        b = r.batch
        rows.append({
            "file": r.file, "mapping": r.collector or "long CSV",
            "read": b.rows_read if b else 0, "new revisions": b.revisions_added if b else 0,
            "unchanged": b.unchanged if b else 0, "quarantined": b.quarantined if b else 0,
            "not reported": r.not_reported, "result": "ok" if r.ok else (r.error or "rows quarantined"),
        })
    console.emit(pd.DataFrame(rows), "table", title="ingest")
    for r in results:
        if r.reasons:
            console.err.print(f"{r.file}: " + ", ".join(f"{k} ×{v}" for k, v in sorted(r.reasons.items())))


@console.command
def observations_command(
    config: Optional[Path] = console.ConfigOption,
    format: str = typer.Option("csv", "--format", "-f", help="csv, json or table"),
    indicator: Optional[List[str]] = typer.Option(None, help="only these indicators"),
    unit: Optional[List[str]] = typer.Option(None, help="only these units"),
    as_of: Optional[str] = typer.Option(None, help="as reported by this date (YYYY-MM-DD)"),
) -> None:
    """Export what the store holds: the latest revision of each observation."""
    ctx = console.Context(config)
    try:
        frame = observations(ctx, indicator or None, unit or None, as_of)
    finally:
        ctx.close()
    console.emit(frame, format)


def observations(ctx: console.Context, indicators=None, units=None, as_of: str | None = None) -> pd.DataFrame:
    frame = ctx.store.read(indicators=indicators, units=units, as_of=periods.as_of_instant(as_of) if as_of else None)
    frame = frame.sort_values(["indicator", "unit", "period", "basis"]).reset_index(drop=True)
    frame["period"] = [periods.format_code(c) for c in frame["period"]]
    return frame.drop(columns=["batch"])


@console.command
def quarantine_list(config: Optional[Path] = console.ConfigOption, source: Optional[str] = typer.Option(None, help="only this file"),
                    format: str = console.FormatOption) -> None:
    """List quarantined rows with file, sheet, row, column and reason."""
    ctx = console.Context(config)
    try:
        console.emit(ctx.store.quarantined(source), format)
    finally:
        ctx.close()


@console.command
def quarantine_export(out: Path = typer.Argument(..., help="CSV file to write"), config: Optional[Path] = console.ConfigOption) -> None:
    """Export every quarantined row to a CSV file (UTF-8 with BOM, so Excel opens it)."""
    ctx = console.Context(config)
    try:
        frame = ctx.store.quarantined()
    finally:
        ctx.close()
    write_private(out, frame.to_csv(index=False), encoding="utf-8-sig")  # raw rows of the departments: 0600
    console.err.print(f"{len(frame)} quarantined rows written to {out}")


@console.command
def jobs_command(config: Optional[Path] = console.ConfigOption, format: str = console.FormatOption) -> None:
    """List the collectors with their source, schedule, next run, last run, last result and rows."""
    from collectors.schedule import jobs

    ctx = console.Context(config)
    console.emit(jobs(ctx.deployment), format, title="jobs")


@console.command
def collect_command(name: str = typer.Argument(..., help="collector name (metadata.name of its mapping)"),
                    config: Optional[Path] = console.ConfigOption) -> None:
    """Run one collector now, with its retries; exits 1 when it failed (the store keeps its previous data) or rows
    were quarantined, 3 when a file was rejected."""
    from collectors.schedule import CollectionFailed, collect

    ctx = console.Context(config)
    try:
        result = collect(ctx.deployment, name)
    except CollectionFailed as exc:
        console.err.print(f"[bold red]failed:[/] {exc}", markup=True, highlight=False)
        raise typer.Exit(console.EXIT_INPUT) from None
    console.out.print(f"{name}: {result.summary()}", highlight=False)
    for f in result.files:
        console.err.print(f"  {f.file}: {f.outcome}{' → ' + f.moved_to if f.moved_to else ''}{' (' + f.detail + ')' if f.detail else ''}")
    if any(f.outcome in ("rejected", "refused") for f in result.files):
        raise typer.Exit(console.EXIT_REJECTED)
    if result.quarantined:
        raise typer.Exit(console.EXIT_INPUT)
