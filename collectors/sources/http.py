"""The ``http`` source: JSON or CSV from an API, with a token from the environment, pagination,
timeouts and retries. ``spec.mapping`` says how the record fields become observations.

Example::

    source:
      kind: http
      url: https://stats.example.gov.cn/api/v1/indicators
      format: json
      records: data.items            # where the list of records is in each JSON page
      token_env: STATS_API_TOKEN     # sent as "Authorization: Bearer <token>"; never logged
      pagination: {page_param: page, start: 1}   # or {next: links.next}
    mapping:
      fields: {unit: region, indicator: code, period: month, value: amount}

The token travels only in a header. It never appears in the URL, in the batch's source label, in a
log line or in an error message.
"""

from __future__ import annotations

import io
import logging
from typing import Any, Literal
from urllib.parse import urljoin

import pandas as pd
import requests
from pydantic import Field
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from collectors.sources import register_source
from collectors.sources.records import RecordSource
from targetwatch.errors import Location, SourceError
from targetwatch.model import Strict
from targetwatch.settings import secret

log = logging.getLogger("targetwatch.collectors")


class Pagination(Strict):
    """Either a page-number parameter (stop at an empty page) or a JSON field holding the next URL."""

    page_param: str | None = Field(None, description="query parameter carrying the page number")
    start: int = Field(1, description="first page number")
    next: str | None = Field(None, description="dotted path of the next page's URL in a JSON page; absent/null = last")
    max_pages: int = Field(1000, ge=1, description="a guard against an API that never stops")


class HttpOptions(Strict):
    """Options of the http source."""

    url: str
    format: Literal["json", "csv"] = "json"
    records: str | None = Field(None, description="dotted path of the record list in a JSON page; default: the page itself")
    params: dict[str, str] = Field(default_factory=dict, description="query parameters")
    token_env: str | None = Field(None, description="environment variable (or secrets-file key) holding the API token")
    token_header: str = Field("Authorization", description="header that carries the token")
    token_scheme: str = Field("Bearer", description="word before the token in the header; empty for none")
    pagination: Pagination | None = None
    timeout: float = Field(30.0, gt=0, description="seconds to connect and to wait for each response")
    retries: int = Field(3, ge=0, description="retries of a failed request (connection errors, 429, 5xx), with backoff")
    backoff: float = Field(0.5, ge=0, description="urllib3 backoff factor between request retries")
    encoding: str | None = Field(None, description="CSV encoding when the server does not say")


def dig(doc: Any, path: str | None) -> Any:
    """The value at a dotted path (``data.items``) of a JSON document; ``None`` when absent."""
    if not path:
        return doc
    for part in path.split("."):
        if not isinstance(doc, dict) or part not in doc:
            return None
        doc = doc[part]
    return doc


@register_source("http")
class HttpSource(RecordSource):
    """Fetch every page, then hand the records to validation as one batch."""

    Options = HttpOptions

    def _session(self) -> requests.Session:
        opts = self.options
        session = requests.Session()
        retry = Retry(total=opts.retries, backoff_factor=opts.backoff, status_forcelist=(429, 500, 502, 503, 504),
                      allowed_methods=("GET",), raise_on_status=False)
        session.mount("http://", HTTPAdapter(max_retries=retry))
        session.mount("https://", HTTPAdapter(max_retries=retry))
        if opts.token_env:
            token = secret(opts.token_env, self.deployment.settings)
            if not token:
                raise SourceError(f"the API token is not set: export {opts.token_env}=... (or put it in the secrets file)",
                                  Location(file=str(self.collector.path)))
            session.headers[opts.token_header] = f"{opts.token_scheme} {token}".strip()
        return session

    def _get(self, session: requests.Session, url: str, params: dict[str, str]) -> requests.Response:
        try:
            response = session.get(url, params=params, timeout=self.options.timeout)
        except requests.RequestException as exc:
            # The exception text names the URL and the cause, never the request headers.
            raise SourceError(f"request failed after {self.options.retries} retries: {type(exc).__name__}: {exc}", Location(file=url)) from None
        if response.status_code >= 400:
            raise SourceError(f"HTTP {response.status_code} {response.reason}", Location(file=url))
        return response

    def _page(self, response: requests.Response) -> tuple[pd.DataFrame, Any]:
        opts = self.options
        if opts.format == "csv":
            text = response.content.decode(opts.encoding or response.encoding or "utf-8-sig")
            return pd.read_csv(io.StringIO(text), dtype=object, keep_default_na=False, na_values=[""]), None
        try:
            doc = response.json()
        except ValueError as exc:
            raise SourceError(f"not JSON: {exc}", Location(file=response.url)) from None
        items = dig(doc, opts.records)
        if not isinstance(items, list):
            raise SourceError(f"no list of records at {opts.records or 'the top level'!r}", Location(file=response.url))
        return pd.DataFrame.from_records(items), doc

    def fetch(self) -> tuple[pd.DataFrame, str]:
        opts = self.options
        pages: list[pd.DataFrame] = []
        with self._session() as session:
            url, params = opts.url, dict(opts.params)
            page_no = opts.pagination.start if opts.pagination else None
            for _ in range(opts.pagination.max_pages if opts.pagination else 1):
                if opts.pagination and opts.pagination.page_param:
                    params[opts.pagination.page_param] = str(page_no)
                response = self._get(session, url, params)
                frame, doc = self._page(response)
                if frame.empty and opts.pagination and opts.pagination.page_param:
                    break
                pages.append(frame)
                if not opts.pagination:
                    break
                if opts.pagination.next:
                    following = dig(doc, opts.pagination.next)
                    if not following:
                        break
                    url, params = urljoin(response.url, following), {}
                else:
                    page_no += 1
            else:
                if opts.pagination:
                    raise SourceError(f"more than {opts.pagination.max_pages} pages; raise pagination.max_pages", Location(file=opts.url))
        records = pd.concat(pages, ignore_index=True) if pages else pd.DataFrame()
        log.info("http %s: %d records in %d pages", opts.url, len(records), len(pages))
        return records, opts.url.split("?")[0]
