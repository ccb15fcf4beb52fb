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


@app.command("run")
@console.command
def run_command(
    config: str = console.ConfigOption,
    as_of: str = typer.Option(None, "--as-of", help="evaluate as of this date (YYYY-MM-DD); default: settings as_of, else today"),
    all_verdicts: bool = typer.Option(False, "--all", help="also list the verdicts that are on track"),
) -> None:
    """The main job: ingest every file the collectors name, evaluate the targets, show what is behind by leader.

    A rule file with an error is left out and reported at file:line:column; every other rule is evaluated
    (exit 1, as for quarantined rows)."""
    from rich.table import Table

    from collectors.cli import print_summary
    from rules.vocabulary import STATUSES, WORDS
    from targetwatch.job import by_leader, run

    ctx = console.Context(config)
    try:
        result = run(ctx.deployment, ctx.store, as_of=as_of)
    finally:
        ctx.close()
    print_summary(result.ingested)
    verdicts = result.verdicts
    counts = verdicts["status"].value_counts().to_dict() if not verdicts.empty else {}
    shown = verdicts if all_verdicts else verdicts[verdicts["status"] != "on_track"]
    for leader, group in by_leader(ctx.deployment, shown):
        table = Table(title=f"{leader}（{len(group)} 项）", title_justify="left", show_lines=False)
        for col in ("状态", "目标", "单位", "期间", "说明"):
            table.add_column(col, overflow="fold")
        for v in group.itertuples(index=False):
            unit = ctx.deployment.units[v.unit].name if v.unit in ctx.deployment.units else v.unit
            words = WORDS[v.status]
            table.add_row(f"[{_TERMINAL_COLOUR.get(words.colour, words.colour)}]{words.label}[/]", str(v.rule_title or v.rule), unit,
                          str(v.period), str(v.message))
        console.out.print(table)
    summary = "，".join(f"{WORDS[s].label} {counts.get(s, 0)}" for s in STATUSES)
    as_of_text = verdicts["as_of"].iloc[0] if not verdicts.empty else (as_of or ctx.deployment.settings.as_of or "today")
    console.out.print(f"截至 {as_of_text}：共 {len(verdicts)} 项判定 —— {summary}")
    console.report_invalid_rules(result.rules)
    # 3 when a whole file was rejected, else 1 for quarantined rows or a rule file left out.
    code = console.ingest_exit_code(result.ingested) or (0 if result.ok else console.EXIT_INPUT)
    if code:
        raise typer.Exit(code)


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
