"""Grafana's HTTP API through grafana-client: one connection helper for ``dashboards push`` and the
annotations ``serve`` posts. The token comes from the environment (or the secrets file), never from a file
in the deployment, and is never logged.
"""

from __future__ import annotations

from targetwatch import settings as settings_mod
from targetwatch.errors import ConfigError

TOKEN_ENV = "TARGETWATCH_GRAFANA_TOKEN"  # a Grafana service-account token (Editor on the folder)
# The tag every targetwatch annotation carries; the dashboards' annotation query shows this tag.
ANNOTATION_TAG = "targetwatch"


def token(settings=None) -> str | None:
    """The Grafana token from the environment or the secrets file; None when unset."""
    return settings_mod.secret(TOKEN_ENV, settings)


def connect(url: str, api_token: str | None, timeout: float = 10.0):
    """A ``grafana_client.GrafanaApi`` for ``url`` authenticated with the token."""
    try:
        from grafana_client import GrafanaApi
    except ImportError as exc:  # the optional extra is not installed
        raise ConfigError("grafana-client is not installed: pip install 'targetwatch[grafana]'") from exc
    if not api_token:
        raise ConfigError(f"no Grafana token: set the environment variable {TOKEN_ENV} (a service-account token)")
    return GrafanaApi.from_url(url, credential=api_token, timeout=timeout)
