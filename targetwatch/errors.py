"""Named errors. The library raises these; only the CLI turns them into exit codes.

Every error that comes from input carries a :class:`Location`, so that the message says where to look.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Location:
    """Where a problem is: a file, and inside it a sheet, row and column, or a YAML line and column."""

    file: str | None = None
    sheet: str | None = None
    row: int | None = None
    column: str | None = None
    line: int | None = None
    col: int | None = None

    def __str__(self) -> str:
        parts = [self.file or "<input>"]
        if self.line is not None:
            parts.append(str(self.line))
            if self.col is not None:
                parts.append(str(self.col))
            return ":".join(parts)
        if self.sheet is not None:
            parts.append(f"sheet {self.sheet!r}")
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column is not None:
            parts.append(f"column {self.column!r}")
        return ", ".join(parts)


class TargetwatchError(Exception):
    """Base of every error the library raises on purpose."""

    def __init__(self, message: str, location: Location | None = None):
        super().__init__(message)
        self.message = message
        self.location = location

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


class PeriodError(TargetwatchError):
    """A period that cannot be read or cannot exist."""


class ConfigError(TargetwatchError):
    """A deployment file (YAML registry, mapping, rule) that is wrong."""


class UnknownReference(ConfigError):
    """A reference to a unit, indicator, person or group that the registry does not have."""


class SourceError(TargetwatchError):
    """A source that cannot be read at all: a missing file, a missing sheet, an undecodable CSV."""


class StoreError(TargetwatchError):
    """The time-series store refused or failed an operation."""
