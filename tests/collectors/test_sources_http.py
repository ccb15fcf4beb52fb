"""The HTTP source against a real HTTP server on 127.0.0.1: JSON pages, CSV, the token, retries, no partial write."""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from collectors import runs
from collectors.layout import load_collectors
from collectors.schedule import CollectionScheduler
from collectors.sources import collect
from targetwatch.deployment import load_deployment
from targetwatch.errors import SourceError
from tests.collectors.schedule_helpers import write_collector

PAGES = {
    1: [{"region": "大祥区", "code": "retail_sales", "month": "2025-08", "amount": "101.5"},
        {"region": "双清区", "code": "retail_sales", "month": "2025-08", "amount": "88.2"}],
    2: [{"region": "北塔区", "code": "retail_sales", "month": "2025-08", "amount": "40.1"},
        {"region": "火星区", "code": "retail_sales", "month": "2025-08", "amount": "1"}],
}


class Api:
    """A small statistics API: numbered JSON pages, a next-link variant, CSV, and a switch to fail page 2."""

    def __init__(self):
        self.hits: list[tuple[str, str | None]] = []
        self.auth: list[str | None] = []
        self.fail_page_2 = False
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                url = urlparse(self.path)
                page = int(parse_qs(url.query).get("page", ["1"])[0])
                api.hits.append((url.path, str(page)))
                api.auth.append(self.headers.get("Authorization"))
                if url.path == "/numbered":
                    if page == 2 and api.fail_page_2:
                        return self._send(500, b"boom", "text/plain")
                    return self._json({"data": {"items": PAGES.get(page, [])}})
                if url.path == "/linked":
                    nxt = f"/linked?page={page + 1}" if page < 2 else None
                    return self._json({"items": PAGES[page], "links": {"next": nxt}})
                if url.path == "/table.csv":
                    body = "地区,月份,社零\n大祥区,2025-08,101.5\n双清区,2025-08,/\n".encode("gb18030")
                    return self._send(200, body, "text/csv")
                self._send(404, b"", "text/plain")

            def _json(self, doc):
                self._send(200, json.dumps(doc, ensure_ascii=False).encode(), "application/json")

            def _send(self, status, body, ctype):
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def api():
    server = Api()
    yield server
    server.close()


MAPPING = "  mapping: {fields: {unit: region, indicator: code, period: month, value: amount}}\n"


def numbered(api, extra="", schedule="{every: 1h, retries: 2, backoff: 0.01}"):
    return (f"  source: {{kind: http, url: '{api.url}/numbered', records: data.items, token_env: TW_TEST_API_TOKEN,\n"
            f"           pagination: {{page_param: page}}, retries: 1, backoff: 0{extra}}}\n"
            f"  schedule: {schedule}\n" + MAPPING)


def test_json_pages_land_as_one_batch_and_unknown_units_are_quarantined(deployment_dir, api, store, monkeypatch, caplog):
    monkeypatch.setenv("TW_TEST_API_TOKEN", "s3cret-token")
    write_collector(deployment_dir, "api", numbered(api))
    dep = load_deployment(deployment_dir)
    with caplog.at_level(logging.DEBUG):
        result = collect(dep, store, load_collectors(dep.root)[0])
    assert api.hits == [("/numbered", "1"), ("/numbered", "2"), ("/numbered", "3")]
    assert api.auth == ["Bearer s3cret-token"] * 3
    assert (result.rows, result.revisions_added, result.quarantined) == (3, 3, 1)
    assert store.quarantined()[["row", "column", "reason"]].values.tolist() == [[4, "field region", "unknown unit '火星区'"]]
    assert store.batches()["source"].tolist() == [f"{api.url}/numbered"]
    assert "s3cret-token" not in caplog.text


def test_next_links_are_followed(deployment_dir, api, store):
    write_collector(deployment_dir, "api", f"  source: {{kind: http, url: '{api.url}/linked', records: items, pagination: {{next: links.next}}}}\n" + MAPPING)
    dep = load_deployment(deployment_dir)
    result = collect(dep, store, load_collectors(dep.root)[0])
    assert api.hits == [("/linked", "1"), ("/linked", "2")]
    assert (result.rows, result.quarantined) == (3, 1)


def test_csv_responses_use_the_mapping_with_fixed_fields(deployment_dir, api, store):
    write_collector(deployment_dir, "api", f"  source: {{kind: http, url: '{api.url}/table.csv', format: csv, encoding: gb18030}}\n"
                    "  mapping: {fields: {unit: 地区, period: 月份, value: 社零}, fixed: {indicator: retail_sales}}\n")
    dep = load_deployment(deployment_dir)
    collect(dep, store, load_collectors(dep.root)[0])
    frame = store.read()
    assert frame[["unit", "indicator", "period", "value"]].values.tolist() == [["daxiang", "retail_sales", 20250808, 101.5]]


def test_a_missing_token_names_its_environment_variable(deployment_dir, api, store, monkeypatch):
    monkeypatch.delenv("TW_TEST_API_TOKEN", raising=False)
    write_collector(deployment_dir, "api", numbered(api))
    dep = load_deployment(deployment_dir)
    with pytest.raises(SourceError, match="export TW_TEST_API_TOKEN="):
        collect(dep, store, load_collectors(dep.root)[0])
    assert api.hits == []


def test_a_failing_source_is_retried_then_alerted_and_writes_nothing(deployment_dir, api, store, monkeypatch):
    monkeypatch.setenv("TW_TEST_API_TOKEN", "s3cret-token")
    write_collector(deployment_dir, "api", numbered(api))
    dep = load_deployment(deployment_dir)
    api.fail_page_2 = True
    alerts, collected = [], []
    service = CollectionScheduler(dep, store, on_collected=collected.append, on_failed=lambda name, exc: alerts.append((name, str(exc))))
    assert service.run_collector("api") is None
    # 3 collection attempts (retries: 2); each asks page 1 once and page 2 twice (one request retry).
    assert api.hits == [("/numbered", "1"), ("/numbered", "2"), ("/numbered", "2")] * 3
    assert alerts == [("api", f"{api.url}/numbered: HTTP 500 Internal Server Error")]
    assert collected == []
    assert len(store.batches()) == 0 and len(store.read()) == 0
    history = runs.run_history(service.jobs_db)
    assert history[["status", "attempts", "rows"]].values.tolist() == [["failed", 3, 0]]
    api.fail_page_2 = False
    result = service.run_collector("api")
    assert result.rows == 3 and collected == [result]
    assert runs.run_history(service.jobs_db)["status"].tolist() == ["failed", "ok"]


def test_an_unchanged_response_lands_nothing_new_and_asks_for_no_evaluation(deployment_dir, api, store, monkeypatch):
    monkeypatch.setenv("TW_TEST_API_TOKEN", "s3cret-token")
    write_collector(deployment_dir, "api", numbered(api))
    collected = []
    service = CollectionScheduler(load_deployment(deployment_dir), store, on_collected=collected.append)
    first, second = service.run_collector("api"), service.run_collector("api")
    assert (first.revisions_added, second.revisions_added, second.changed) == (3, 0, False)
    assert collected == [first]
