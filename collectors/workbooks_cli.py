"""``targetwatch templates build`` and ``targetwatch mapping suggest``: the workbooks departments fill in,
and a first collector mapping for a workbook nobody has mapped yet."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from targetwatch import console

templates_app = typer.Typer(help="The workbooks departments fill in, one per collector mapping.", no_args_is_help=True)
mapping_app = typer.Typer(help="Collector mappings: propose one for an unfamiliar workbook.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(templates_app, name="templates")
    app.add_typer(mapping_app, name="mapping")


@templates_app.command("build")
@console.command
def templates_build(
    config: Optional[Path] = console.ConfigOption,
    collector: Optional[str] = typer.Option(None, "--collector", help="one collector mapping (default: every one)"),
    period: Optional[str] = typer.Option(None, "--period", help="the month to report (2023-06); default: last month"),
    out: Path = typer.Option(Path("templates"), "--out", "-o", help="folder to write the templates into"),
) -> None:
    """Write, per collector mapping, the workbook a department fills in (validated, locked, with instructions)."""
    from collectors.templates import build_templates

    ctx = console.Context(config=config)
    try:
        written = build_templates(ctx.deployment, period=period, collector=collector, out=out, store=ctx.store)
    finally:
        ctx.close()
    for t in written:
        console.out.print(f"{t.collector}: {t.path} ({len(t.units)} units, {t.cells} cells to fill)")


@mapping_app.command("suggest")
@console.command
def mapping_suggest(
    file: Path = typer.Argument(..., help="the workbook (xlsx) or CSV to read"),
    config: Optional[Path] = console.ConfigOption,
    name: Optional[str] = typer.Option(None, "--name", help="the collector's name (default: from the file name)"),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="write the YAML here (e.g. config/collectors/x.yaml); default: stdout"),
) -> None:
    """Propose a collector mapping (YAML) for an unfamiliar workbook; list what could not be matched."""
    from collectors.suggest import suggest

    ctx = console.Context(config=config)
    proposal = suggest(ctx.deployment, file, name=name)
    if out:
        out.write_text(proposal.yaml, encoding="utf-8")
        console.err.print(f"wrote {out}")
    else:
        console.out.print(proposal.yaml, markup=False, highlight=False, soft_wrap=True)
    for line in proposal.unmatched:
        console.err.print(f"not matched: {line}", markup=False, highlight=False)
