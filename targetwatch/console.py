"""What every command shares: the deployment and store built once, output formats, and error exits.

Results go to stdout; progress and logs go to stderr. Only here do library errors become exit codes.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import click
import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from targetwatch.deployment import Deployment, load_deployment
from targetwatch.errors import SourceError, TargetwatchError
from targetwatch.store import Store, open_store

# Piped output (files, CI logs, tests) is not a terminal: give tables room instead of wrapping at 80.
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 240)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 240)

ConfigOption = typer.Option(None, "--config", "-c", help="deployment folder (default: ./config)", envvar="TARGETWATCH_CONFIG")
FormatOption = typer.Option("table", "--format", "-f", help="table, json or csv")

EXIT_INPUT = 1  # bad input: quarantined rows, failed checks
EXIT_CONFIG = 2  # the deployment itself is wrong
EXIT_REJECTED = 3  # whole files rejected (unreadable, over a limit, refused); the other files were read
EXIT_INTERNAL = 4  # a failure nobody foresaw: a bug to report; the details are in the debug log


def ingest_exit_code(results) -> int:
    """0 all read, 1 rows quarantined, 3 a file rejected (the worse of the two wins)."""
    if any(r.rejected for r in results):
        return EXIT_REJECTED
    return 0 if all(r.ok for r in results) else EXIT_INPUT


@dataclass
class Context:
    """The deployment and store of one command, built on first use and closed at exit."""

    config: Optional[Path] = None
    _deployment: Deployment | None = None
    _store: Store | None = None
    cleanups: list[Callable[[], None]] = field(default_factory=list)

    @property
    def deployment(self) -> Deployment:
        if self._deployment is None:
            self._deployment = load_deployment(self.config)
        return self._deployment

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = open_store(self.deployment.settings, self.deployment.root)
            self.cleanups.append(self._store.close)
        return self._store

    def close(self) -> None:
        for fn in reversed(self.cleanups):
            fn()


def command(fn: Callable) -> Callable:
    """Wrap a command: library errors print located and exit non-zero; the store is closed at exit."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except SourceError as exc:  # the file handed to the command was refused (a bomb, unreadable): not the deployment
            err.print(f"[bold red]error:[/] {exc}", markup=True, highlight=False)
            raise typer.Exit(EXIT_REJECTED) from None
        except TargetwatchError as exc:
            err.print(f"[bold red]error:[/] {exc}", markup=True, highlight=False)
            raise typer.Exit(EXIT_CONFIG) from None
        # typer carries its own copy of click: its BadParameter is a usage error (exit 2), not an internal one.
        except (typer.Exit, typer.Abort, typer.TyperException, click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
            raise
        except Exception as exc:
            # No traceback for the user: one line, and the traceback in the log at DEBUG level.
            logging.getLogger("targetwatch").debug("unexpected failure in %s", fn.__name__, exc_info=True)
            err.print(f"[bold red]internal error:[/] {type(exc).__name__}: {str(exc)[:500]} "
                      "(TARGETWATCH_LOG_LEVEL=DEBUG shows the details)", markup=True, highlight=False)
            raise typer.Exit(EXIT_INTERNAL) from None

    return wrapper


def report_invalid_rules(ruleset) -> None:
    """On stderr: the located errors of the rule files an evaluation left out (``rules.RuleSet``)."""
    for problem in ruleset.problems:
        if problem.level == "error":
            err.print(f"error: {problem}", markup=False, highlight=False)
    if ruleset.invalid_files:
        err.print(f"{len(ruleset.invalid_files)} rule file(s) left out because of the errors above; every other rule was evaluated",
                  markup=False, highlight=False)


def emit(frame: pd.DataFrame, fmt: str, title: str | None = None) -> None:
    """Print a frame as a Rich table, JSON (a list of objects) or CSV."""
    if fmt == "json":
        sys.stdout.write(frame.to_json(orient="records", force_ascii=False, date_format="iso", indent=2) + "\n")
    elif fmt == "csv":
        # A byte-order mark first, so that Excel reads the Chinese as UTF-8 instead of the locale's code page.
        sys.stdout.write("\ufeff")
        frame.to_csv(sys.stdout, index=False)
    elif fmt == "table":
        table = Table(title=title, show_lines=False)
        for col in frame.columns:
            table.add_column(str(col), overflow="fold")
        for row in frame.itertuples(index=False):
            table.add_row(*("" if (v is None or (isinstance(v, float) and pd.isna(v))) else str(v) for v in row))
        out.print(table)
    else:
        raise typer.BadParameter(f"unknown format {fmt!r}: use table, json or csv")


def emit_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, indent=2, default=str) + "\n")
