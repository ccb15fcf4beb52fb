"""The ``sdmx`` source: official statistics as SDMX messages, read with the ``sdmx1`` package.

Either a message file (an export, a mounted share) or a URL is read. Each observation becomes a record
whose fields are the series' dimensions, ``TIME_PERIOD`` and ``value``; ``spec.mapping.codes``
translates dimension codes (a REPORTER or REF_AREA code) to registry unit names.

Example::

    source: {kind: sdmx, file: feeds/nbs-monthly.xml}
    mapping:
      fields: {unit: REF_AREA, period: TIME_PERIOD, value: value}
      fixed: {indicator: retail_sales_growth}
      codes: {unit: {"430502": 大祥区}}
"""

from __future__ import annotations

import contextlib
import io

import pandas as pd
import requests
from pydantic import Field, model_validator

from collectors.sources import register_source
from collectors.limits import check_size
from collectors.sources.http import read_limited
from collectors.sources.records import RecordSource
from targetwatch.errors import Location, SourceError
from targetwatch.model import Strict


class SdmxOptions(Strict):
    """Options of the sdmx source."""

    file: str | None = Field(None, description="an SDMX-ML or SDMX-JSON message, relative to the deployment")
    url: str | None = Field(None, description="an SDMX REST data URL")
    timeout: float = Field(60.0, gt=0)

    @model_validator(mode="after")
    def _one_place(self) -> "SdmxOptions":
        if (self.file is None) == (self.url is None):
            raise ValueError("give exactly one of file or url")
        return self


def message_records(message) -> pd.DataFrame:
    """One row per observation: every dimension as a column, and ``value``."""
    import sdmx

    data = sdmx.to_pandas(message)
    if isinstance(data, list):
        data = pd.concat([d for d in data if len(d)]) if data else pd.Series(dtype=float)
    frame = data.rename("value").reset_index() if isinstance(data, pd.Series) else data.reset_index()
    return frame


def _quiet():
    """sdmx1 prints its parser stacks and the failing element to stdout when a message does not parse:
    the payload would reach the terminal. The located error says what went wrong instead."""
    return contextlib.redirect_stdout(io.StringIO())


@register_source("sdmx")
class SdmxSource(RecordSource):
    """Read the message, flatten its observations, and map them."""

    Options = SdmxOptions

    def fetch(self) -> tuple[pd.DataFrame, str]:
        import sdmx

        opts = self.options
        label = opts.url.split("?")[0] if opts.url else str(self.deployment.path(opts.file))
        try:
            limit = self.deployment.settings.limits.file_bytes
            if opts.file:
                path = self.deployment.path(opts.file)
                check_size(path, self.deployment.settings.limits)
                with _quiet():
                    message = sdmx.read_sdmx(path)
            else:
                response = requests.get(opts.url, timeout=opts.timeout, stream=True)
                response.raise_for_status()
                read_limited(response, limit)
                with _quiet():
                    message = sdmx.read_sdmx(io.BytesIO(response.content))
        except SourceError:
            raise
        except (OSError, requests.RequestException) as exc:
            raise SourceError(f"cannot read the SDMX message: {exc}", Location(file=label)) from None
        except Exception as exc:  # sdmx1 raises many parser errors; all mean "not a readable message"
            raise SourceError(f"not a readable SDMX data message: {type(exc).__name__}: {exc}", Location(file=label)) from None
        if not hasattr(message, "data"):
            raise SourceError(f"a {type(message).__name__}, not a data message", Location(file=label))
        try:
            return message_records(message), label
        except Exception as exc:  # a message sdmx1 reads but cannot flatten: rejected, located
            raise SourceError(f"cannot flatten the SDMX data message: {type(exc).__name__}: {str(exc)[:300]}", Location(file=label)) from None
