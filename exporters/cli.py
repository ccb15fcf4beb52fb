"""``targetwatch serve``, ``notifications`` and ``export …``: thin shells over the exporters library."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from targetwatch import console

export_app = typer.Typer(help="Write generated Prometheus and Alertmanager files.", no_args_is_help=True)
notifications_app = typer.Typer(help="The notification ledger, and sending what was held back.", invoke_without_command=True)
digest_app = typer.Typer(help="The leaders' digests.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Mount ``serve`` and ``notifications``, and ``prometheus-rules`` / ``alertmanager`` under ``export``."""
    app.command("serve")(serve)
    notifications_app.callback(invoke_without_command=True)(notifications)
    notifications_app.command("backfill")(backfill)
    app.add_typer(notifications_app, name="notifications")
    digest_app.command("preview")(digest_preview)
    app.add_typer(digest_app, name="digest")
    existing = next((g.typer_instance for g in app.registered_groups if g.name == "export"), None)
    target = existing or export_app
    target.command("prometheus-rules")(export_prometheus_rules)
    target.command("alertmanager")(export_alertmanager)
    if existing is None:
        app.add_typer(export_app, name="export")


@console.command
def serve(
    config: Optional[Path] = console.ConfigOption,
    once: bool = typer.Option(False, "--once", help="evaluate once, print one /metrics scrape to stdout, and exit (sends nothing)"),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="judge as of this day (YYYY-MM-DD) instead of today"),
    period: Optional[str] = typer.Option(None, "--period", help="judge this period (2023-06, 2023-Q2) instead of the latest"),
    interval: float = typer.Option(300.0, "--interval", help="seconds between evaluations"),
    host: Optional[str] = typer.Option(None, "--host", help="bind address (default: settings.listen_host, 127.0.0.1)"),
    port: Optional[int] = typer.Option(None, "--port", help="port (default: settings.listen_port, 9464)"),
    collect: bool = typer.Option(True, "--collect/--no-collect", help="also run the scheduled collectors, evaluating after each"),
) -> None:
    """Serve /metrics on 127.0.0.1, evaluate periodically, send digests, and push to Alertmanager if configured."""
    from exporters.service import Service

    ctx = console.Context(config=config)
    service = Service(ctx.deployment, as_of=as_of, period=period, interval=interval, host=host, port=port)
    if once:
        try:
            service.evaluate()
            sys.stdout.buffer.write(service.scrape())
        finally:
            service.ledger.close()
        console.report_invalid_rules(service.cycle_config.rules)
        return
    if collect:
        _attach_scheduler(service, ctx.deployment)
    service.run()


def _attach_scheduler(service, deployment) -> None:
    # The collection scheduler runs beside the service; each collection asks for an evaluation. It runs even
    # when no mapping has a schedule yet: mappings are reloaded every cycle, and one may gain a schedule.
    from collectors.schedule import CollectionScheduler

    scheduler = CollectionScheduler(deployment, on_collected=service.collected)
    service.add_background(scheduler.start, scheduler.shutdown)
    service.config_listeners.append(lambda config: scheduler.use_collectors(config.collectors, config.deployment))


@console.command
def notifications(
    typer_ctx: typer.Context,
    config: Optional[Path] = console.ConfigOption,
    fmt: str = console.FormatOption,
) -> None:
    """List the notification ledger: each decision, the verdict and value behind it, recipient, channel, result."""
    from exporters.ledger import Ledger, ledger_path

    if typer_ctx.invoked_subcommand is not None:
        return

    ctx = console.Context(config=config)
    ledger = Ledger(ledger_path(ctx.deployment.settings))
    try:
        console.emit(ledger.notifications(), fmt, title="notifications")
    finally:
        ledger.close()


@console.command
def backfill(
    since: str = typer.Option(..., "--since", help="send held-back digests of periods starting on or after this day or period (2023-01-01, 2023-01)"),
    config: Optional[Path] = console.ConfigOption,
    as_of: Optional[str] = typer.Option(None, "--as-of", help="judge as of this day (YYYY-MM-DD) instead of today"),
) -> None:
    """Send, on purpose, the digests held back as backfilled (periods older than the current one when they changed)."""
    from exporters.notify import backfill_notifications

    ctx = console.Context(config=config)
    try:
        queued, delivery = backfill_notifications(ctx.deployment, ctx.store, since, as_of)
    finally:
        ctx.close()
    console.out.print(f"{queued} digest(s) queued from backfilled changes; {delivery.sent} sent, {delivery.failed} failed")


@console.command
def digest_preview(
    leader: str = typer.Argument(..., help="the leader: person id or Chinese name"),
    config: Optional[Path] = console.ConfigOption,
    period: Optional[str] = typer.Option(None, "--period", help="this period's digest, as `notifications backfill` sends it "
                                         "(default: what serve would send now)"),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="judge as of this day (YYYY-MM-DD)"),
    fmt: str = typer.Option("text", "--format", "-f", help="text or json"),
) -> None:
    """Print exactly what the leader's digest would send on each of their channels, without sending it."""
    import json

    import numpy as np

    import rules
    from exporters.channels import load_notifier_config
    from exporters.ledger import Ledger, ledger_path
    from exporters.notify import Notifications
    from exporters.verdicts import HISTORIC, historic
    from targetwatch.errors import ConfigError

    ctx = console.Context(config=config)
    dep = ctx.deployment
    person = leader if leader in dep.people else next((p.id for p in dep.people.values() if p.name == leader), None)
    if person is None:
        raise ConfigError(f"未知的牵头领导「{leader}」：请写人员编号或姓名（config/registry/people.yaml）")
    ledger = Ledger(ledger_path(dep.settings))  # read for the recorded states only
    try:
        verdicts = rules.evaluate(dep, ctx.store, as_of=as_of or dep.settings.as_of, period=period)
        # As serve marks them: a change of a period older than the current one is held, not sent.
        verdicts = verdicts.assign(**{HISTORIC: np.where(historic(verdicts, period), "true", None)})
        previews = Notifications(dep, ledger, load_notifier_config(dep.root), dep.settings.dashboard_url).preview(verdicts, person, period)
    finally:
        ledger.close()
        ctx.close()
    if fmt == "json":
        console.emit_json([p.__dict__ for p in previews])
        return
    if not previews:
        console.out.print(f"{dep.people[person].name}：现在没有要发送的摘要（没有新的落后、逾期未报或有风险；"
                          "较早期别的变化按补发处理，可用 --period 查看该期摘要）。", markup=False)
    for p in previews:
        console.out.print(f"== {p.period} · 渠道 {p.channel}（{p.kind}）→ {dep.people[person].name}："
                          + (f"无法发送：{p.error}" if p.error else f"{len(p.parts)} 条 =="), markup=False, highlight=False)
        for part in p.parts:
            sys.stdout.write(json.dumps(part, ensure_ascii=False, indent=2) + "\n")
            sys.stdout.flush()


@console.command
def export_prometheus_rules(
    config: Optional[Path] = console.ConfigOption,
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="folder (default: <config>/provisioning/prometheus)"),
    tests: bool = typer.Option(False, "--tests", help="also write rules_test.yml for `promtool test rules`"),
    keep_firing_for: str = typer.Option("10m", "--keep-firing-for", help="keep an alert firing this long after it clears"),
) -> None:
    """Write the alerting rules over the verdict metrics (rules.yml), and optionally their promtool tests."""
    from exporters.promrules import export_prometheus_rules as export

    ctx = console.Context(config=config)
    for path in export(ctx.deployment, out or ctx.deployment.path("provisioning/prometheus"), tests=tests, keep_firing_for=keep_firing_for):
        console.out.print(str(path))


@console.command
def export_alertmanager(
    config: Optional[Path] = console.ConfigOption,
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="folder (default: <config>/provisioning/alertmanager)"),
    group_wait: Optional[str] = typer.Option(None, help="override notifiers.yaml's group_wait"),
    group_interval: Optional[str] = typer.Option(None, help="override notifiers.yaml's group_interval"),
) -> None:
    """Write alertmanager.yml: a route and receiver per leader, grouped by leader and period, with inhibitions."""
    from exporters.alertmanager import export_alertmanager as export

    ctx = console.Context(config=config)
    timers = {k: v for k, v in {"group_wait": group_wait, "group_interval": group_interval}.items() if v}
    console.out.print(str(export(ctx.deployment, out or ctx.deployment.path("provisioning/alertmanager"), **timers)))
