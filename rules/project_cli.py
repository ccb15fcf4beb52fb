"""``targetwatch projects``: the project ledger with stages, days in stage, 到位资金 and flags."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import pandas as pd
import typer

from targetwatch import console

TABLE_COLUMNS = ["project", "name", "unit_name", "stage_zh", "days_in_stage", "investment", "funds_to_date", "leader_name", "stalled", "flags"]


@console.command
def projects(
    config: Optional[Path] = console.ConfigOption,
    unit: Optional[str] = typer.Option(None, "--unit", help="only this unit (id or Chinese name)"),
    stage: Optional[str] = typer.Option(None, "--stage", help="only projects in this stage: negotiating|signed|started|in_production (or 洽谈/签约/开工/投产)"),
    stalled: bool = typer.Option(False, "--stalled", help="only stalled projects (signed too long without 开工, started too long without 投产)"),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="as of this day (YYYY-MM-DD): stages and revisions by then"),
    batches: bool = typer.Option(False, "--batches", help="instead: each signing batch (签约批次) with its project count and total investment"),
    fmt: str = console.FormatOption,
) -> None:
    """List the projects of the ledgers (项目台账): stage, days in stage, 到位资金 and flags."""
    from rules.projects import batch_totals, list_projects

    ctx = console.Context(config)
    try:
        frame = list_projects(ctx.deployment, ctx.store, as_of=as_of, unit=unit, stage=stage, stalled=stalled)
    finally:
        ctx.close()
    if batches:
        totals = batch_totals(frame)
        if fmt == "json":
            console.emit_json(totals.to_dict(orient="records"))
        else:
            console.emit(totals, fmt, title="签约批次")
        return
    if fmt == "json":
        records = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
        for rec in records:
            rec["days_in_stage"] = None if rec["days_in_stage"] is None else int(rec["days_in_stage"])
        console.emit_json(records)
    elif fmt == "table":
        shown = frame[TABLE_COLUMNS].assign(flags=frame["flags"].map(",".join), stalled=frame["stalled"].map({True: "停滞", False: ""}))
        console.emit(shown.astype(object).where(shown.notna(), None), "table", title=f"项目台账 as of {as_of or 'today'}")
    else:
        out = frame.assign(funds_by_month=frame["funds_by_month"].map(lambda m: json.dumps(m, ensure_ascii=False)),
                           flags=frame["flags"].map(",".join))
        console.emit(out.astype(object).where(out.notna(), None) if not out.empty else pd.DataFrame(columns=frame.columns), fmt)
