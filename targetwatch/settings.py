"""Settings: one declarative class; each field has a default and a description.

Values come, in rising priority, from the defaults, the deployment's ``settings.yaml`` and the
environment (``TARGETWATCH_<FIELD>``, nested with ``__``). Secrets are ``SecretStr`` and come from the
environment or a secrets file only; they never print. ``targetwatch config show`` lists every resolved
value and where it came from.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "TARGETWATCH_"


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


def load_settings(config_dir: Path, overrides: dict[str, Any] | None = None) -> tuple[Settings, dict[str, str]]:
    """Resolve the settings of a deployment and say where each top-level value came from."""
    from targetwatch import yamlio  # local: yamlio imports pydantic models only, but keep settings light

    file = config_dir / "settings.yaml"
    from_file: dict[str, Any] = dict(yamlio.load(file)) if file.exists() else {}
    merged = {**from_file, **(overrides or {})}
    settings = Settings(**merged)
    origin: dict[str, str] = {}
    for name in Settings.model_fields:
        env = ENV_PREFIX + name.upper()
        if any(k.startswith(env) for k in os.environ):
            origin[name] = f"environment ({env})"
        elif overrides and name in overrides:
            origin[name] = "command line"
        elif name in from_file:
            origin[name] = str(file)
        else:
            origin[name] = "default"
    return settings, origin


def secret(name: str, settings: Settings | None = None) -> str | None:
    """A secret by environment-variable name, else from the secrets file; ``None`` when unset.

    The value is returned for use, never logged: callers wrap it before it reaches a message.
    """
    value = os.environ.get(name)
    if value:
        return value
    path = settings.secrets_file if settings else os.environ.get(ENV_PREFIX + "SECRETS_FILE")
    if path and Path(path).exists():
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            key, sep, val = line.partition("=")
            if sep and key.strip() == name:
                return val.strip()
    return None
