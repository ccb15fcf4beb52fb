"""The ``targetwatch`` command: a thin shell that mounts each stage's commands.

Every command calls a library function of the same name, which tests call directly.
"""

from __future__ import annotations

import logging
import os

import typer

from targetwatch import console

app = typer.Typer(
    name="targetwatch",
    help="Watch local-government targets: ingest reported figures, evaluate the targets, alert the owners.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

config_app = typer.Typer(help="Inspect the deployment's settings.", no_args_is_help=True)
app.add_typer(config_app, name="config")


@config_app.command("show")
@console.command
def config_show(config: str = console.ConfigOption) -> None:
    """Print every resolved setting and where it came from (secrets masked)."""
    import pandas as pd

    from targetwatch.deployment import load_deployment

    from targetwatch.settings import SECRET_SETTINGS

    dep = load_deployment(config)
    rows = []
    for leaf, origin in dep.settings_origin.items():
        value = dep.settings
        for part in leaf.split("."):
            value = getattr(value, part)
        shown = ("********" if value is not None else None) if leaf in SECRET_SETTINGS else value
        rows.append({"setting": leaf, "value": shown, "from": origin})
    console.emit(pd.DataFrame(rows), "table", title=f"settings of {dep.root}")


# Grafana colour names of rules.vocabulary that a terminal calls otherwise.
_TERMINAL_COLOUR = {"orange": "dark_orange"}
BRIEFING_WIDTH = 100  # the briefing fits a 100-column terminal or a pasted message


@app.command("run")
@console.command
def run_command(
    config: str = console.ConfigOption,
    as_of: str = typer.Option(None, "--as-of", help="evaluate as of this date (YYYY-MM-DD); default: settings as_of, else today"),
    all_verdicts: bool = typer.Option(False, "--all", help="also list the verdicts that are on track"),
    fmt: str = typer.Option("table", "--format", "-f", help="table (the briefing) or json"),
) -> None:
    """The main job: ingest every file the collectors name, evaluate the targets, brief each leader, most behind first.

    A rule file with an error is left out and reported at file:line:column; every other rule is evaluated
    (exit 1, as for quarantined rows)."""
    from targetwatch.job import briefing, run

    if fmt not in ("table", "json"):
        raise typer.BadParameter(f"unknown format {fmt!r}: use table or json")
    ctx = console.Context(config)
    try:
        result = run(ctx.deployment, ctx.store, as_of=as_of)
    finally:
        ctx.close()
    brief = briefing(ctx.deployment, result, as_of=as_of, everything=all_verdicts)
    if fmt == "json":
        _briefing_json(brief, result)
    else:
        _briefing_table(brief, result, {u.id: u.name for u in ctx.deployment.units.values()})
    console.report_invalid_rules(result.rules)
    # 3 when a whole file was rejected, else 1 for quarantined rows or a rule file left out.
    code = console.ingest_exit_code(result.ingested) or (0 if result.ok else console.EXIT_INPUT)
    if code:
        raise typer.Exit(code)


def _briefing_json(brief, result) -> None:
    from collectors.ingest import summary_line
    from rules.verdict import to_records

    console.emit_json({
        "as_of": brief.as_of, "summary": brief.summary(), "counts": brief.counts,
        "ingest": {"files": brief.files, "landed": brief.landed,
                   "results": [{"file": r.file, "ok": r.ok, "summary": summary_line(r)} for r in result.ingested]},
        "leaders": [{"leader": name, "counts": group["status"].value_counts().to_dict(), "verdicts": to_records(group)}
                    for name, group in brief.leaders],
    })


def _briefing_table(brief, result, unit_names: dict[str, str]) -> None:
    from pathlib import Path

    import pandas as pd
    from rich import box
    from rich.console import Console
    from rich.table import Table

    from rules.messages import fmt as figure
    from rules.vocabulary import STATUSES, WORDS

    view = Console(width=BRIEFING_WIDTH, highlight=False, soft_wrap=False)
    view.print(brief.summary())
    if brief.landed:
        table = Table(title="本次入库", title_justify="left", box=box.SIMPLE_HEAD, width=BRIEFING_WIDTH)
        for col, kw in (("文件", {"ratio": 1, "overflow": "ellipsis", "no_wrap": True}), ("读取", {}), ("新修订", {}),
                        ("未变", {}), ("隔离", {}), ("结果", {"max_width": 24, "overflow": "ellipsis", "no_wrap": True})):
            table.add_column(col, justify="left" if col in ("文件", "结果") else "right", **kw)
        for r in result.ingested:
            b = r.batch
            table.add_row(Path(r.file).name, *(str(getattr(b, k, 0) if b else 0) for k in ("rows_read", "revisions_added", "unchanged", "quarantined")),
                          "正常" if r.ok else (r.error or "有隔离行"))
        view.print(table)
    else:
        unchanged = sum(r.batch.unchanged for r in result.ingested if r.batch)
        view.print(f"收件箱 {brief.files} 个文件：没有新数据（{unchanged} 行与库中一致）")
    for leader, group in brief.leaders:
        counts = group["status"].value_counts()
        heading = "，".join(f"{WORDS[s].label} {counts[s]}" for s in STATUSES if counts.get(s, 0))
        table = Table(title=f"{leader}：{heading}", title_justify="left", box=box.SIMPLE_HEAD, width=BRIEFING_WIDTH)
        table.add_column("状态", no_wrap=True)
        table.add_column("目标", ratio=1, overflow="ellipsis", no_wrap=True)
        table.add_column("单位", max_width=14, overflow="ellipsis", no_wrap=True)
        table.add_column("期别", no_wrap=True)
        for col in ("实际", "目标值", "差距"):
            table.add_column(col, justify="right", no_wrap=True)
        value, target, gap = (figure(group[c], 2) for c in ("value", "target", "gap"))
        measure = group["measure"].fillna("").astype(str).to_numpy()
        for i, v in enumerate(group.itertuples(index=False)):
            words = WORDS[v.status]
            unit = unit_names.get(v.unit, str(v.unit))
            if measure[i] == "位" and v.rank is not pd.NA and v.rank == v.rank:  # a rank rule: its place, not the figure
                shown = f"第{int(v.rank)}位"
            else:
                shown = f"{value[i]}{measure[i]}" if value[i] else ("未报" if v.status in ("late", "no_data") else "—")
            table.add_row(f"[{_TERMINAL_COLOUR.get(words.colour, words.colour)}]{words.label}[/]", str(v.rule_title or v.rule), unit,
                          str(v.period), shown, target[i] or "—", gap[i] or "—")
        view.print(table)


def _mount() -> None:
    # Each stage registers its own commands; the order is the data flow.
    from collectors import cli as collectors_cli
    from collectors import workbooks_cli
    from dashboards import cli as dashboards_cli
    from exporters import cli as exporters_cli
    from exporters.bulletin import cli as bulletin_cli
    from rules import cli as rules_cli

    for stage in (collectors_cli, workbooks_cli, rules_cli, exporters_cli, bulletin_cli, dashboards_cli):
        stage.register(app)


logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
# Results go to stdout as tables; logs stay quiet unless asked for (serve raises this from settings).
logging.getLogger("targetwatch").setLevel(os.environ.get("TARGETWATCH_LOG_LEVEL", "WARNING").upper())
_mount()
