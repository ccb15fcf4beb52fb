"""The ``targetwatch`` command: a thin shell that mounts each stage's commands.

Every command calls a library function of the same name, which tests call directly.
"""

from __future__ import annotations

import logging

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

    dep = load_deployment(config)
    dumped = dep.settings.model_dump(mode="json")
    rows = [
        {"setting": k, "value": "********" if "token" in k or "password" in k else v, "from": dep.settings_origin.get(k, "")}
        for k, v in dumped.items()
    ]
    console.emit(pd.DataFrame(rows), "table", title=f"settings of {dep.root}")


def _mount() -> None:
    # Each stage registers its own commands; the import order is the data flow.
    from collectors import cli as collectors_cli

    collectors_cli.register(app)
    for module in ("rules.cli", "exporters.cli", "dashboards.cli"):
        try:
            mod = __import__(module, fromlist=["register"])
        except ModuleNotFoundError as exc:
            if exc.name not in (module, module.split(".")[0]):
                raise
            continue
        mod.register(app)


logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
logging.getLogger("targetwatch").setLevel(logging.INFO)
_mount()
