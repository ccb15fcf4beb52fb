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
