"""``targetwatch dashboards …``: thin shells over :mod:`dashboards.build`."""

from __future__ import annotations

from typing import Optional

import typer

from targetwatch import console


def register(app: typer.Typer) -> None:
    """Add the ``dashboards`` command group."""
    group = typer.Typer(help="Grafana dashboards generated from the deployment.", no_args_is_help=True)
    app.add_typer(group, name="dashboards")

    @group.command("build")
    @console.command
    def build_command(
        config: Optional[str] = console.ConfigOption,
        out: Optional[str] = typer.Option(None, "--out", "-o", help="folder for the JSON (default: dashboards/generated)"),
    ) -> None:
        """Build every dashboard as Grafana JSON, one file per dashboard uid."""
        from dashboards.build import build

        ctx = console.Context(config=config)
        for path in build(ctx.deployment, out):
            console.out.print(str(path))

    @group.command("push")
    @console.command
    def push_command(
        url: str = typer.Option(..., "--url", help="Grafana base URL, e.g. https://grafana.example.gov.cn"),
        config: Optional[str] = console.ConfigOption,
        folder: str = typer.Option("targetwatch", "--folder-uid", help="uid of the folder (目标监测) to upload into"),
    ) -> None:
        """Upload the generated dashboards into a Grafana folder (token from TARGETWATCH_GRAFANA_TOKEN)."""
        from dashboards.build import dashboards
        from dashboards.push import push
        from targetwatch.grafana import token

        ctx = console.Context(config=config)
        for uid in push(url, token(ctx.deployment.settings), dashboards(ctx.deployment), folder_uid=folder):
            console.out.print(f"{url.rstrip('/')}/d/{uid}/")
