"""The read-only bulletin page of ``targetwatch serve``: /bulletin (the latest period) and /bulletin/<period>.

For people who do not use Grafana. The page is built in the HTTP thread from a store opened there (the
service's store factory or settings), under the service's cycle lock so it never races an evaluation,
and kept until the next evaluation replaces the verdicts.
"""

from __future__ import annotations

import logging
import threading
from urllib.parse import unquote

from exporters.bulletin import MEDIA_TYPES, build, render
from targetwatch import periods
from targetwatch.errors import TargetwatchError
from targetwatch.store import store_for

log = logging.getLogger("targetwatch.serve")
PREFIX = "/bulletin"
_cache_lock = threading.Lock()


def handles(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


def page(service, path: str) -> tuple[bytes, str, int]:
    """(body, content type, status) of a GET on /bulletin or /bulletin/<period>."""
    period = unquote(path[len(PREFIX):].strip("/")) or service.period
    if period:
        try:
            period = str(periods.parse(period))
        except TargetwatchError as exc:
            return f"bad period {period!r}: {exc}\n".encode(), "text/plain; charset=utf-8", 404
    key = (period, id(service.state.verdicts))
    with _cache_lock:
        cached = getattr(service, "_bulletin_cache", {})
        if key in cached:
            return cached[key], MEDIA_TYPES["html"], 200
    try:
        with service._lock:  # one store user at a time, as in the evaluation cycle
            store, owned = store_for(service._store, service.deployment.settings)
            try:
                body = render(build(service.deployment, store, period=period, as_of=service.as_of), "html")
            finally:
                if owned:
                    store.close()
    except Exception:  # the page says so; /metrics and the cycle go on
        log.exception("the bulletin page of %s failed", period or "the latest period")
        return b"the bulletin could not be built; see the service log\n", "text/plain; charset=utf-8", 500
    with _cache_lock:
        # Only the pages of the current verdicts are kept.
        service._bulletin_cache = {k: v for k, v in getattr(service, "_bulletin_cache", {}).items() if k[1] == key[1]} | {key: body}
    return body, MEDIA_TYPES["html"], 200
