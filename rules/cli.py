"""Commands of the rules stage: ``evaluate``, ``explain`` and ``rules check|schema|test``.

Each is a thin shell over the library function of the same name.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import List, Optional

import typer

from targetwatch import console

rules_app = typer.Typer(help="Check, test and describe the target rules.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Mount ``evaluate``, ``explain`` and the ``rules`` group on the root command."""
    app.command("evaluate")(evaluate)
    app.command("explain")(explain)
    from rules.project_cli import projects

    app.command("projects")(projects)
    app.add_typer(rules_app, name="rules")


@console.command
def evaluate(
    config: Optional[Path] = console.ConfigOption,
    as_of: Optional[str] = typer.Option(None, "--as-of", help="judge as of this day (YYYY-MM-DD): its latest period and the revisions reported by then"),
    period: Optional[str] = typer.Option(None, "--period", help="judge this period (2023-06, 2023-Q2) instead of the latest; 'all' judges every period of each rule's window"),
    fmt: str = console.FormatOption,
) -> None:
    """Evaluate every rule and print the verdicts, worst first (JSON: one object per rule, unit, period).

    A rule file with an error is left out and reported at file:line:column (exit 1); the others are evaluated."""
    import rules
    from rules.verdict import to_records, worst_first

    ctx = console.Context(config)
    try:
        ruleset = rules.load_valid_rules(ctx.deployment.root, ctx.deployment)
        frame = worst_first(rules.evaluate(ctx.deployment, ctx.store, as_of=as_of, period=period, ruleset=ruleset))
    finally:
        ctx.close()
    if fmt == "json":
        console.emit_json(to_records(frame))
    elif fmt == "table":
        shown = frame[["status", "rule", "unit", "period", "value", "target", "gap", "rank", "leader", "message"]]
        console.emit(shown.astype(object).where(shown.notna(), None), "table", title=f"verdicts as of {as_of or 'today'}")
    else:
        out = frame.copy()
        out["owners"] = out["owners"].map(lambda o: json.dumps(o, ensure_ascii=False))
        console.emit(out, fmt)
    console.report_invalid_rules(ruleset)
    if ruleset.invalid_files:
        raise typer.Exit(console.EXIT_INPUT)


@console.command
def explain(
    rule: str = typer.Argument(..., help="rule id or its Chinese title (or a unique part of it)"),
    unit: str = typer.Argument(..., help="unit id, Chinese name or alias"),
    config: Optional[Path] = console.ConfigOption,
    period: Optional[str] = typer.Option(None, "--period", help="the period to explain (default: the latest)"),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="as of this day (YYYY-MM-DD)"),
    fmt: str = typer.Option("text", "--format", "-f", help="text or json"),
) -> None:
    """Show step by step how one verdict was computed: thresholds, observations, revisions, group, rank table, version."""
    from rules.explain import explanation

    if fmt not in ("text", "json"):
        raise typer.BadParameter(f"unknown format {fmt!r}: use text or json")
    ctx = console.Context(config)
    try:
        out = explanation(ctx.deployment, ctx.store, rule, unit, period=period, as_of=as_of)
    finally:
        ctx.close()
    if fmt == "json":
        console.emit_json(out)
    else:
        sys.stdout.write("\n".join(out["lines"]) + "\n")


@rules_app.command("check")
@console.command
def check(config: Optional[Path] = console.ConfigOption) -> None:
    """Check every rule file: print each error and warning at file:line:column; exit 1 on any error."""
    from rules.check import check as check_rules
    from targetwatch.deployment import DEFAULT_CONFIG, load_deployment

    dep = load_deployment(config)
    problems = check_rules(config or DEFAULT_CONFIG, dep)
    for p in problems:
        console.err.print(str(p), markup=False, highlight=False)
    errors = sum(p.level == "error" for p in problems)
    warnings = len(problems) - errors
    console.err.print(f"{errors} error(s), {warnings} warning(s)", markup=False)
    if errors:
        raise typer.Exit(console.EXIT_INPUT)


@rules_app.command("schema")
def schema() -> None:
    """Print the JSON Schema of a rule document (for editors)."""
    from rules.spec import json_schema

    console.emit_json(json_schema())


@rules_app.command("test")
@console.command
def test(files: List[Path] = typer.Argument(..., help="rule test files"), config: Optional[Path] = console.ConfigOption) -> None:
    """Run rule unit tests (input observations, as-of date, expected verdicts); exit 1 on a failure."""
    from rules.ruletest import run_rule_tests
    from targetwatch.deployment import load_deployment

    results = run_rule_tests(load_deployment(config), files)
    for r in results:
        if r.ok:
            console.out.print(f"PASS {r.file}: {r.name}", markup=False)
        else:
            console.out.print(f"FAIL {r.file}: {r.name}", markup=False)
            for line in r.failures:
                console.out.print(f"  {line}", markup=False)
    failed = sum(not r.ok for r in results)
    console.err.print(f"{len(results) - failed} passed, {failed} failed", markup=False)
    if failed:
        raise typer.Exit(console.EXIT_INPUT)
