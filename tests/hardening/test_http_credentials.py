"""The HTTP source sends its token only to the configured origin (issue 14), against real servers on 127.0.0.1.

Two servers on two ports are two origins; ``localhost`` and ``127.0.0.1`` on the same port are two
origins too. The finding was that a ``pagination.next`` link on another host got the token (a session
header), and with a custom ``token_header`` so did a redirect.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from collectors.layout import load_collectors
from collectors.sources import collect
from targetwatch.deployment import load_deployment
from targetwatch.errors import SourceError
from tests.collectors.schedule_helpers import write_collector

ITEM = {"region": "大祥区", "code": "retail_sales", "month": "2025-08", "amount": "101.5"}
MAPPING = "  mapping: {fields: {unit: region, indicator: code, period: month, value: amount}}\n"
SECRET = "s3cret-token"


class Recorder:
    """A JSON API that records each request's path and credentials; ``routes`` maps a path to a response."""

    def __init__(self):
        self.seen: list[tuple[str, str | None, str | None]] = []
        self.routes: dict[str, tuple[int, dict, dict | None]] = {}
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                recorder.seen.append((self.path, self.headers.get("Authorization"), self.headers.get("X-Api-Key")))
                status, headers, doc = recorder.routes.get(self.path.split("?")[0], (404, {}, None))
                body = json.dumps(doc, ensure_ascii=False).encode() if doc is not None else b""
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def servers():
    a, b = Recorder(), Recorder()
    yield a, b
    a.close()
    b.close()


def _collect(deployment_dir, store, url: str, extra: str = ""):
    write_collector(deployment_dir, "api", f"  source: {{kind: http, url: '{url}', records: items, token_env: TW_HARD_TOKEN, "
                                           f"retries: 0, pagination: {{next: next}}{extra}}}\n" + MAPPING)
    dep = load_deployment(deployment_dir)
    return collect(dep, store, load_collectors(dep.root)[0])


def _credentials(server: Recorder) -> list:
    return [(auth, key) for _, auth, key in server.seen]


@pytest.fixture(autouse=True)
def token(monkeypatch):
    monkeypatch.setenv("TW_HARD_TOKEN", SECRET)


def test_a_next_link_to_another_origin_is_refused_by_default_and_never_receives_the_token(deployment_dir, store, servers):
    a, b = servers
    a.routes["/first"] = (200, {}, {"items": [ITEM], "next": f"{b.url}/second"})
    b.routes["/second"] = (200, {}, {"items": [ITEM], "next": None})
    with pytest.raises(SourceError, match=f"refused to follow a link to another origin http://127.0.0.1:{b.port}"):
        _collect(deployment_dir, store, f"{a.url}/first")
    assert _credentials(a) == [(f"Bearer {SECRET}", None)]
    assert b.seen == [] and len(store.batches()) == 0


def test_with_without_token_a_next_link_to_another_origin_is_followed_without_credentials(deployment_dir, store, servers):
    a, b = servers
    a.routes["/first"] = (200, {}, {"items": [ITEM], "next": f"{b.url}/second"})
    b.routes["/second"] = (200, {}, {"items": [ITEM], "next": f"{a.url}/third"})
    a.routes["/third"] = (200, {}, {"items": [], "next": None})
    result = _collect(deployment_dir, store, f"{a.url}/first", ", other_origins: without_token")
    assert result.rows == 2
    assert _credentials(a) == [(f"Bearer {SECRET}", None)] * 2  # back on the configured origin: the token again
    assert _credentials(b) == [(None, None)]


@pytest.mark.parametrize("policy", ["", ", other_origins: without_token"])
def test_a_redirect_to_another_host_with_a_custom_token_header_never_carries_the_token(deployment_dir, store, servers, policy):
    a, _ = servers
    other_host = f"http://localhost:{a.port}"  # the same server under another host name: another origin
    a.routes["/first"] = (302, {"Location": f"{other_host}/data"}, None)
    a.routes["/data"] = (200, {}, {"items": [ITEM], "next": None})
    extra = ", token_header: X-Api-Key, token_scheme: ''" + policy
    if not policy:
        with pytest.raises(SourceError, match=f"another origin http://localhost:{a.port}"):
            _collect(deployment_dir, store, f"{a.url}/first", extra)
        assert _credentials(a) == [(None, SECRET)]
    else:
        assert _collect(deployment_dir, store, f"{a.url}/first", extra).rows == 1
        assert _credentials(a) == [(None, SECRET), (None, None)]


def test_a_redirect_within_the_origin_keeps_the_token_and_a_redirect_loop_is_an_error(deployment_dir, store, servers):
    a, _ = servers
    a.routes["/first"] = (301, {"Location": "/data"}, None)
    a.routes["/data"] = (200, {}, {"items": [ITEM], "next": None})
    assert _collect(deployment_dir, store, f"{a.url}/first").rows == 1
    assert _credentials(a) == [(f"Bearer {SECRET}", None)] * 2
    a.routes["/loop"] = (302, {"Location": "/loop"}, None)
    with pytest.raises(SourceError, match="more than 5 redirects"):
        _collect(deployment_dir, store, f"{a.url}/loop")


def test_a_response_over_the_size_limit_is_rejected_before_it_is_parsed(deployment_dir, store, servers):
    a, _ = servers
    a.routes["/big"] = (200, {}, {"items": [ITEM] * 2000, "next": None})
    (deployment_dir / "settings.yaml").write_text((deployment_dir / "settings.yaml").read_text() + "limits: {file_bytes: 10000}\n")
    with pytest.raises(SourceError, match="the response is larger than 10,000 bytes"):
        _collect(deployment_dir, store, f"{a.url}/big")
