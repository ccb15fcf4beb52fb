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

The token travels only in a header, added to each request whose origin (scheme, host and port) is
the configured ``url``'s: a ``pagination.next`` link or a redirect to another origin is refused, or
with ``other_origins: without_token`` followed without the token. Redirects are followed here, hop by
hop, never by the HTTP library. The token never appears in the URL, in the batch's source label, in a
log line or in an error message. A response is read up to ``limits.file_bytes`` and no further.
"""

from __future__ import annotations

import io
import logging
from typing import Any, Literal
from urllib.parse import urljoin, urlsplit

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
    other_origins: Literal["refuse", "without_token"] = Field(
        "refuse", description="a next link or redirect to another scheme, host or port: refuse it, or follow it without the token")
    max_redirects: int = Field(5, ge=0, description="redirects followed per request")


_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of a URL, with the scheme's default port filled in."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise SourceError(f"not a valid URL: {exc}", Location(file=url.split("?")[0])) from None
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), port or _DEFAULT_PORTS.get(scheme, 0)


def dig(doc: Any, path: str | None) -> Any:
    """The value at a dotted path (``data.items``) of a JSON document; ``None`` when absent."""
    if not path:
        return doc
    for part in path.split("."):
        if not isinstance(doc, dict) or part not in doc:
            return None
        doc = doc[part]
    return doc


def read_limited(response: requests.Response, limit: int) -> None:
    """Read a streamed body up to ``limit`` bytes; a longer response is rejected before anything parses it."""
    body = bytearray()
    where = Location(file=response.url.split("?")[0])
    try:
        for block in response.iter_content(1 << 16):
            body += block
            if len(body) > limit:
                raise SourceError(f"the response is larger than {limit:,} bytes (settings limits.file_bytes)", where)
    except requests.RequestException as exc:
        raise SourceError(f"reading the response failed: {type(exc).__name__}: {exc}", where) from None
    finally:
        response.close()
    response._content = bytes(body)  # what .content, .text and .json() read from now on


@register_source("http")
class HttpSource(RecordSource):
    """Fetch every page, then hand the records to validation as one batch."""

    Options = HttpOptions

    def _session(self) -> requests.Session:
        opts = self.options
        session = requests.Session()
        retry = Retry(total=opts.retries, backoff_factor=opts.backoff, status_forcelist=(429, 500, 502, 503, 504),
                      allowed_methods=("GET",), raise_on_status=False, redirect=0)
        session.mount("http://", HTTPAdapter(max_retries=retry))
        session.mount("https://", HTTPAdapter(max_retries=retry))
        self._token = None
        if opts.token_env:
            token = secret(opts.token_env, self.deployment.settings)
            if not token:
                raise SourceError(f"the API token is not set: export {opts.token_env}=... (or put it in the secrets file)",
                                  Location(file=str(self.collector.path)))
            self._token = f"{opts.token_scheme} {token}".strip()  # added per request, never to the session
        return session

    def _headers_for(self, url: str) -> dict[str, str]:
        """The token header for a URL of the configured origin; for another origin nothing, or a refusal."""
        if origin(url) == origin(self.options.url):
            return {self.options.token_header: self._token} if self._token else {}
        if self.options.other_origins == "refuse":
            scheme, host, port = origin(url)
            raise SourceError(f"refused to follow a link to another origin {scheme}://{host}:{port} "
                              "(set other_origins: without_token to follow it without the token)", Location(file=self.options.url.split("?")[0]))
        return {}

    def _get(self, session: requests.Session, url: str, params: dict[str, str]) -> requests.Response:
        opts = self.options
        for _ in range(opts.max_redirects + 1):
            try:
                response = session.get(url, params=params, headers=self._headers_for(url), timeout=opts.timeout,
                                       allow_redirects=False, stream=True)
            except requests.RequestException as exc:
                # The exception text names the URL and the cause, never the request headers.
                raise SourceError(f"request failed after {opts.retries} retries: {type(exc).__name__}: {exc}", Location(file=url)) from None
            if not (response.is_redirect and response.headers.get("location")):
                break
            url, params = urljoin(response.url, response.headers["location"]), {}
            response.close()
        else:
            raise SourceError(f"more than {opts.max_redirects} redirects", Location(file=opts.url.split("?")[0]))
        if response.status_code >= 400:
            response.close()
            raise SourceError(f"HTTP {response.status_code} {response.reason}", Location(file=url.split("?")[0]))
        read_limited(response, self.deployment.settings.limits.file_bytes)
        return response

    def _page(self, response: requests.Response) -> tuple[pd.DataFrame, Any]:
        opts = self.options
        where = Location(file=response.url.split("?")[0])
        try:
            if opts.format == "csv":
                text = response.content.decode(opts.encoding or response.encoding or "utf-8-sig")
                return pd.read_csv(io.StringIO(text), dtype=object, keep_default_na=False, na_values=[""]), None
            try:
                doc = response.json()
            except (ValueError, RecursionError) as exc:
                raise SourceError(f"not JSON: {exc}", where) from None
            items = dig(doc, opts.records)
            if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
                raise SourceError(f"no list of records (JSON objects) at {opts.records or 'the top level'!r}", where)
            return pd.DataFrame.from_records(items), doc
        except SourceError:
            raise
        except Exception as exc:  # a page no parser can read (bad CSV, unknown encoding…) rejects the fetch, located
            raise SourceError(f"unreadable {opts.format} page: {type(exc).__name__}: {str(exc)[:300]}", where) from None

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
                    if not isinstance(following, str):
                        raise SourceError(f"the next link at {opts.pagination.next!r} is not a URL", Location(file=opts.url.split("?")[0]))
                    url, params = urljoin(response.url, following), {}
                else:
                    page_no += 1
            else:
                if opts.pagination:
                    raise SourceError(f"more than {opts.pagination.max_pages} pages; raise pagination.max_pages", Location(file=opts.url))
        records = pd.concat(pages, ignore_index=True) if pages else pd.DataFrame()
        log.info("http %s: %d records in %d pages", opts.url, len(records), len(pages))
        return records, opts.url.split("?")[0]
