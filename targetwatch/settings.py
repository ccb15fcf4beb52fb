"""Settings: one declarative class; each field has a default and a description.

Values come, in rising priority, from the defaults, the deployment's ``settings.yaml``, the
environment (``TARGETWATCH_<FIELD>``, nested with ``__``) and the command line. Secrets are
``SecretStr`` and come from the environment or the secrets file only (a token in ``settings.yaml`` is
refused); they never print. ``targetwatch config show`` lists every resolved value and where it came from.
"""

from __future__ import annotations

import contextvars
import logging
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from targetwatch.errors import ConfigError, Location

ENV_PREFIX = "TARGETWATCH_"
# Settings that are secrets: accepted from the environment or the secrets file, never from settings.yaml.
SECRET_SETTINGS = ("influx.token",)


class InfluxSettings(BaseModel):
    """InfluxDB 2 connection, used when ``store`` is ``influxdb``."""

    url: str = Field("http://127.0.0.1:8086", description="InfluxDB base URL")
    org: str = Field("targetwatch", description="InfluxDB organisation")
    bucket: str = Field("targetwatch", description="bucket for observations")
    verdict_bucket: str = Field("targetwatch", description="bucket for evaluation results (write-back)")
    token: SecretStr | None = Field(None, description="API token; set TARGETWATCH_INFLUX__TOKEN")
    spool_dir: str = Field(".targetwatch/spool", description="where writes wait while InfluxDB is unreachable")

    def token_value(self) -> str | None:
        """The API token for the client, unwrapped only here, at the point of use."""
        return self.token.get_secret_value() if self.token is not None else None


class Limits(BaseModel):
    """What a collector accepts before it parses a file: anything larger is rejected whole, with the reason."""

    file_bytes: int = Field(256 * 2**20, gt=0, description="largest file (or HTTP response) read, in bytes")
    unzipped_bytes: int = Field(512 * 2**20, gt=0, description="largest total uncompressed size of a zip-based workbook (xlsx, ods)")
    zip_members: int = Field(10_000, gt=0, description="most members in a zip-based workbook")
    sheet_rows: int = Field(1_048_576, gt=0, description="most rows a sheet may declare or hold (Excel's own limit)")
    sheet_cells: int = Field(20_000_000, gt=0, description="largest rows × columns extent of a sheet")
    csv_line_bytes: int = Field(131_072, gt=0, description="longest CSV line, so also the longest field")
    parser_memory_mb: int = Field(2048, ge=64, description="address-space limit of the child process that parses workbooks")
    parser_seconds: float = Field(300.0, gt=0, description="time limit of the child process that parses workbooks")


class Settings(BaseSettings):
    """Every setting of a deployment."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid")

    store: Literal["sqlite", "influxdb"] = Field("sqlite", description="time-series store backend")
    sqlite_path: str = Field(
        ".targetwatch/targetwatch.db",
        description="embedded store file; relative paths are taken from the working directory",
    )
    influx: InfluxSettings = Field(default_factory=InfluxSettings, description="InfluxDB backend")
    listen_host: str = Field("127.0.0.1", description="address `serve` binds to")
    listen_port: int = Field(9464, description="port of `serve` (/metrics)")
    dashboard_url: str = Field("http://127.0.0.1:3000", description="Grafana base URL used in alert links")
    alertmanager_url: str | None = Field(None, description="Alertmanager to push alerts to (API v2); none = off")
    secrets_file: str | None = Field(None, description="a KEY=VALUE file read for secrets not in the environment")
    log_level: str = Field("WARNING", description="logging level")
    as_of: str | None = Field(
        None, description="evaluate as of this date (YYYY-MM-DD) by default; none = today. The example data are 2023 and 2025"
    )
    limits: Limits = Field(default_factory=Limits, description="sizes a collector accepts before parsing")

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings):
        # First wins: the command line (init arguments), then the environment, then settings.yaml.
        return (init_settings, env_settings, _FileSource(settings_cls))


_FILE_VALUES: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("settings_file_values", default={})


class _FileSource(PydanticBaseSettingsSource):
    """The values of the deployment's settings.yaml, below the environment in priority."""

    def get_field_value(self, field, field_name):  # required by the base class; __call__ does the work
        return _FILE_VALUES.get().get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(_FILE_VALUES.get())


def _leaves(doc: Any, prefix: str = "") -> dict[str, Any]:
    """``{"influx": {"url": u}}`` → ``{"influx.url": u}``."""
    if not isinstance(doc, dict) or not doc:
        return {prefix: doc} if prefix else {}
    out: dict[str, Any] = {}
    for key, value in doc.items():
        out.update(_leaves(value, f"{prefix}.{key}" if prefix else str(key)))
    return out


def _env_name(leaf: str) -> str:
    return ENV_PREFIX + leaf.replace(".", "__").upper()


def load_settings(config_dir: Path, overrides: dict[str, Any] | None = None) -> tuple[Settings, dict[str, str]]:
    """Resolve the settings of a deployment and say where each value (``influx.url``…) came from.

    Priority: ``overrides`` (the command line), the environment, ``settings.yaml``, the defaults."""
    from targetwatch import yamlio  # local: yamlio imports pydantic models only, but keep settings light

    file = config_dir / "settings.yaml"
    doc = yamlio.load(file) if file.exists() else {}
    if not isinstance(doc, dict):
        raise ConfigError("settings.yaml must be a mapping of setting: value", Location(file=str(file), line=1, col=1))
    from_file: dict[str, Any] = dict(doc)
    file_leaves = _leaves(from_file)
    for name in SECRET_SETTINGS:
        if name in file_leaves:
            top, _, key = name.partition(".")
            loc = yamlio.locate(doc, [top, key], str(file))
            raise ConfigError(f"{name} is a secret and is not read from settings.yaml: remove it and set "
                              f"{_env_name(name)} in the environment or in the secrets file", loc)
    env = {k.upper() for k in os.environ}
    token = _env_name("influx.token")
    from_secrets_file = None
    if token not in env:
        # The secrets file is the other place a secret may come from (the environment wins).
        file_name = (overrides or {}).get("secrets_file") or os.environ.get(ENV_PREFIX + "SECRETS_FILE") or from_file.get("secrets_file")
        from_secrets_file = _secrets_file_value(file_name, token)
    init = dict(overrides or {})
    if from_secrets_file is not None:
        init.setdefault("influx", {})
        init["influx"] = {**init["influx"], "token": from_secrets_file}
    token_ = _FILE_VALUES.set(from_file)
    try:
        settings = Settings(**init)
    except ValidationError as exc:
        problems = yamlio.validation_messages(exc, doc, str(file))
        raise ConfigError("; ".join(f"{loc.line}:{loc.col} {msg}" for loc, msg in problems) + " (settings.yaml or the environment)",
                          Location(file=str(file), line=problems[0][0].line, col=problems[0][0].col)) from None
    finally:
        _FILE_VALUES.reset(token_)
    override_leaves = _leaves(overrides or {})
    origin: dict[str, str] = {}
    for leaf in _leaves(settings.model_dump(mode="python")):
        parts = leaf.split(".")
        names = [_env_name(".".join(parts[:i])) for i in range(len(parts), 0, -1)]  # INFLUX__URL, then INFLUX
        if leaf in override_leaves:
            origin[leaf] = "command line"
        elif any(n in env for n in names):
            origin[leaf] = f"environment ({next(n for n in names if n in env)})"
        elif leaf == "influx.token" and from_secrets_file is not None:
            origin[leaf] = "secrets file"
        elif leaf in file_leaves or any(".".join(parts[:i]) in file_leaves for i in range(1, len(parts))):
            origin[leaf] = str(file)
        else:
            origin[leaf] = "default"
    return settings, origin


_WARNED: set[tuple[str, int]] = set()


def _secrets_file_value(path: str | None, name: str) -> str | None:
    if not path or not Path(path).exists():
        return None
    mode = Path(path).stat().st_mode & 0o777
    if mode & 0o077 and (str(path), mode) not in _WARNED:
        _WARNED.add((str(path), mode))  # once per file and mode, not at every secret looked up
        logging.getLogger("targetwatch").warning("the secrets file %s is readable by other users (mode %o): chmod 600 it", path, mode)
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        key, sep, val = line.partition("=")
        if sep and key.strip() == name:
            return val.strip()
    return None


def secret(name: str, settings: Settings | None = None) -> str | None:
    """A secret by environment-variable name, else from the file ``<name>_FILE`` names (a compose or
    Kubernetes secret mounted as a file, shared with another container), else from the secrets file;
    ``None`` when unset.

    The value is returned for use, never logged: callers wrap it before it reaches a message.
    """
    value = os.environ.get(name)
    if value:
        return value
    mounted = os.environ.get(name + "_FILE")
    if mounted:
        try:
            return Path(mounted).read_text(encoding="utf-8").strip() or None
        except OSError as exc:
            raise ConfigError(f"{name}_FILE names {mounted}, which cannot be read ({exc.strerror})") from None
    path = settings.secrets_file if settings else os.environ.get(ENV_PREFIX + "SECRETS_FILE")
    return _secrets_file_value(path, name)
