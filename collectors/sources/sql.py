"""The ``sql`` source: any database SQLAlchemy reaches, a query, and a column mapping.

Example::

    source:
      kind: sql
      url_env: STATS_DB_URL        # e.g. postgresql+psycopg://reader:secret@db/stats; never logged
      query: SELECT region, code, month, amount FROM monthly WHERE month >= '2024-01'
    mapping:
      fields: {unit: region, indicator: code, period: month, value: amount}

The query runs in a read-only transaction where the database supports one; the whole result is read
before anything lands, so a failing query writes nothing.
"""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa
from pydantic import Field, model_validator

from collectors.sources import register_source
from collectors.sources.records import RecordSource
from targetwatch.errors import Location, SourceError
from targetwatch.model import Strict
from targetwatch.settings import secret


class SqlOptions(Strict):
    """Options of the sql source: the database URL (inline without a password, or from the environment)."""

    url: str | None = Field(None, description="SQLAlchemy URL without secrets, e.g. sqlite:///stats.db")
    url_env: str | None = Field(None, description="environment variable holding the URL (with its password)")
    query: str = Field(description="a SELECT returning one row per observation")
    timeout: float = Field(60.0, gt=0, description="seconds to connect")

    @model_validator(mode="after")
    def _one_url(self) -> "SqlOptions":
        if (self.url is None) == (self.url_env is None):
            raise ValueError("give exactly one of url or url_env")
        return self


@register_source("sql")
class SqlSource(RecordSource):
    """Run the query and map its columns."""

    Options = SqlOptions

    def _url(self) -> sa.URL:
        opts = self.options
        text = opts.url if opts.url else secret(opts.url_env, self.deployment.settings)
        if not text:
            raise SourceError(f"the database URL is not set: export {opts.url_env}=...", Location(file=str(self.collector.path)))
        url = sa.make_url(text)
        if url.drivername.startswith("sqlite") and url.database and url.database != ":memory:":
            url = url.set(database=str(self.deployment.path(url.database)))
        return url

    def fetch(self) -> tuple[pd.DataFrame, str]:
        url = self._url()
        connect_args = {"connect_timeout": int(self.options.timeout)} if url.drivername.startswith("postgresql") else {}
        engine = sa.create_engine(url, connect_args=connect_args, poolclass=sa.pool.NullPool)
        label = f"sql:{url.render_as_string(hide_password=True)}#{self.collector.metadata.name}"
        try:
            with engine.connect() as con:
                if url.drivername.startswith("postgresql"):
                    con.exec_driver_sql("SET TRANSACTION READ ONLY")
                records = pd.read_sql_query(sa.text(self.options.query), con)
        except (sa.exc.SQLAlchemyError, pd.errors.DatabaseError) as exc:
            # The driver's own error says what went wrong; it carries the statement, never the URL.
            cause = exc.__cause__ if isinstance(exc, pd.errors.DatabaseError) and exc.__cause__ else exc
            orig = getattr(cause, "orig", None) or cause
            raise SourceError(f"query failed: {type(orig).__name__}: {str(orig).strip()}", Location(file=label)) from None
        finally:
            engine.dispose()
        return records, label
