"""Push alerts straight to Alertmanager's API v2, for deployments without Prometheus.

Every evaluation posts the alerting verdicts with ``endsAt`` a while ahead (``push_resolve_seconds``),
so they stay active only while they are refreshed. A verdict that stops alerting (the unit caught up)
is posted once more with ``endsAt`` = now, which resolves it at once. The alerts carry the same names
and labels as the generated Prometheus rules, so the same routes and inhibitions apply. A redirect is not
followed (it would post the alerts elsewhere as a GET): the push fails and says which URL to configure.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timezone

import pandas as pd

from exporters.notifiers import NO_REDIRECTS
from exporters.promrules import ALERT_NAMES, TIER_ALERTS
from exporters.verdicts import HISTORIC, LABELS, label_frame
from rules.vocabulary import WORDS

log = logging.getLogger("targetwatch.push")


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def without_credentials(url: str) -> str:
    """The URL without any user:password@ part, for logs."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    return parts._replace(netloc=f"{host}:{parts.port}" if parts.port else host).geturl()


class AlertmanagerPusher:
    """Keeps Alertmanager's view equal to the alerting verdicts; remembers what it posted to resolve it later."""

    def __init__(self, url: str, deployment, resolve_seconds: float = 900.0, dashboard_url: str = "", clock=time.time):
        self.url = url.rstrip("/") + "/api/v2/alerts"
        self.deployment = deployment
        self.resolve_seconds = resolve_seconds
        self.dashboard_url = dashboard_url
        self.clock = clock
        self.active: dict[tuple, dict] = {}

    def alerts(self, verdicts: pd.DataFrame) -> dict[tuple, dict]:
        """The alerts the verdicts call for, keyed by their label values."""
        alerting = verdicts["status"].isin(list(ALERT_NAMES)) & ((verdicts["status"] == "no_data") | (verdicts["severity"] != "none"))
        if HISTORIC in verdicts:  # history stays quiet, as in the generated alert rules
            alerting &= verdicts[HISTORIC] != "true"
        chosen = verdicts[alerting]
        labels = label_frame(chosen)
        out = {}
        units = self.deployment.units
        for row, (status, title, message) in zip(labels.itertuples(index=False),
                                                 zip(chosen["status"], chosen["rule_title"], chosen["message"])):
            lab = {k: v for k, v in zip(LABELS, row) if v}
            own = TIER_ALERTS.get(lab.get("tier", "")) if status == "behind" else None  # a 力争 miss or a data check
            lab.update(alertname=own[0] if own else ALERT_NAMES[status], status=status)
            unit = units[lab["unit"]].name if lab["unit"] in units else lab["unit"]
            out[tuple(sorted(lab.items()))] = {"labels": lab, "annotations": {
                "summary": f"{unit}「{title}」{lab['period']}{own[2] if own else WORDS[status].alert}", "description": str(message or ""),
                "rule_title": str(title), "unit_name": unit,
                "dashboard": f"{self.dashboard_url}?var-leader={lab.get('leader', '')}&var-period={lab['period']}"}}
        return out

    def push(self, verdicts: pd.DataFrame) -> bool:
        """Refresh the current alerts and resolve the ones that ended; False (and retry next time) on failure."""
        now = self.clock()
        current = self.alerts(verdicts)
        for key, alert in current.items():
            alert["startsAt"] = self.active[key]["startsAt"] if key in self.active else _iso(now)
        body = [{**a, "endsAt": _iso(now + self.resolve_seconds)} for a in current.values()]
        body += [{**a, "endsAt": _iso(now)} for key, a in self.active.items() if key not in current]
        if not body:
            return True
        request = urllib.request.Request(self.url, data=json.dumps(body, ensure_ascii=False).encode("utf-8"), method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with NO_REDIRECTS.open(request, timeout=10) as resp:
                resp.read()
        except urllib.error.HTTPError as exc:
            if 300 <= exc.code < 400:  # a redirect would turn the POST into a GET elsewhere: refuse, as the notifiers do
                where = exc.headers.get("Location", "") if exc.headers else ""
                log.error("Alertmanager at %s answered HTTP %d (redirect to %s): redirects are not followed; configure the "
                          "final URL in alertmanager_url", without_credentials(self.url), exc.code, without_credentials(where) or "?")
            else:
                log.warning("Alertmanager at %s did not take %d alert(s): HTTP %d %s; retrying at the next evaluation",
                            without_credentials(self.url), len(body), exc.code, exc.reason)
            return False
        except (urllib.error.URLError, OSError) as exc:
            log.warning("Alertmanager at %s did not take %d alert(s): %s; retrying at the next evaluation",
                        without_credentials(self.url), len(body), exc)
            return False
        self.active = current
        return True
