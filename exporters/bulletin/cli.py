"""``targetwatch bulletin``: a thin shell over :func:`exporters.bulletin.bulletin`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from targetwatch import console


def register(app: typer.Typer) -> None:
    app.command("bulletin")(bulletin_command)


@console.command
def bulletin_command(
    config: Optional[Path] = console.ConfigOption,
    period: Optional[str] = typer.Option(None, "--period", help="the period (2023-06, 2023-Q2); default: the latest with reports due by --as-of"),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="as of this day (YYYY-MM-DD); default: settings as_of, else today"),
    group: Optional[str] = typer.Option(None, "--group", help="one peer group (default: every group)"),
    fmt: str = typer.Option("xlsx", "--format", "-f", help="xlsx, html or pdf"),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="file to write (default: 通报_<period>.<format>; '-' for stdout)"),
) -> None:
    """The monthly bulletin (通报): league tables, 确保/约谈/逾期/达标/进度 lists and charts, as xlsx, html or pdf."""
    from exporters.bulletin import FORMATS, build, render
    from rules.vocabulary import label

    if fmt not in FORMATS:
        raise typer.BadParameter(f"--format must be one of {', '.join(FORMATS)}")
    ctx = console.Context(config=config)
    try:
        b = build(ctx.deployment, ctx.store, period=period, as_of=as_of or ctx.deployment.settings.as_of, group=group)
    finally:
        ctx.close()
    body = render(b, fmt)
    if out is not None and str(out) == "-":
        sys.stdout.buffer.write(body)
        return
    target = out or Path(f"通报_{b.period or 'latest'}.{fmt}")
    target.write_bytes(body)
    console.err.print(f"{b.title}：{len(b.tables)} 张排名表，{len(b.behind)} 项{label('behind')}，{len(b.late)} 项{label('late')} → {target}")
