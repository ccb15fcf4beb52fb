"""How a source file reads: the collector mapping kept in ``config/collectors/*.yaml``.

A *long* table has one observation per row (``unit,indicator,period,value``). A *wide* table has
units down the side and indicators across, as departments send them; each value column is mapped
to an indicator, a basis and the measure its values are written in (亿元 values are scaled to an
indicator kept in 万元). Excel workbooks hold one sheet per period or per indicator; each sheet
pattern has its own layout.

Example::

    apiVersion: targetwatch/v1
    kind: Collector
    metadata: {name: shaoyang-monthly, title: 邵阳市县市区主要经济指标月报}
    spec:
      files: ["inbox/shaoyang/*.xlsx"]
      sheets:
        - name: '^\\d{4}年'          # every sheet named like 2023年1-6月
          period: {from: sheet}
          skip_rows: 1               # the title row above the header
          header_rows: 2             # merged group headers over sub-headers
          unit_column: 县市区
          columns:
            - {header: 规模工业增加值/累计增速(%), indicator: industrial_va_growth, basis: ytd}
            - {header: 社会消费品零售总额/累计(亿元), indicator: retail_sales, measure: 亿元}

A mapping may also say where a scheduled collector reads and when (``targetwatch serve`` runs it)::

    spec:
      files: ["drop/shaoyang/*.xlsx"]            # the drop folder; read files move to drop/shaoyang/archive
      source: {kind: dropfolder, settle_seconds: 5}
      schedule: {working_day: 3, at: "10:00"}     # or cron: "0 9 10 * *", or every: 15m
      sheets: [...]

HTTP, SQL and SDMX sources have no sheets: ``mapping`` turns their record fields into observations
(see ``collectors/sources``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from targetwatch import yamlio
from targetwatch.errors import ConfigError, Location
from targetwatch.model import Basis, Strict

API_VERSION = "targetwatch/v1"

# The basis words of published tables: 当月/本月/当季/当月同比 are the period alone, 累计/累计同比/1-N月 the year to date.
_BASIS_WORDS = {
    "period": Basis.period.value, "当月": Basis.period.value, "本月": Basis.period.value, "当季": Basis.period.value,
    "当月同比": Basis.period.value, "本月同比": Basis.period.value, "当季同比": Basis.period.value,
    "ytd": Basis.ytd.value, "累计": Basis.ytd.value, "累计同比": Basis.ytd.value, "本年累计": Basis.ytd.value,
}
_YEAR_TO_DATE = re.compile(r"^1[-—–~至](?:n|\d{1,2})月(?:累计)?(?:同比)?$")


def basis_word(text) -> str | None:
    """The basis (period or ytd) a word of a published table states, None for a word that states none."""
    if text is None:
        return None
    word = "".join(str(text).split()).lower()
    return _BASIS_WORDS.get(word) or (Basis.ytd.value if _YEAR_TO_DATE.match(word) else None)


class PeriodFrom(Strict):
    """Where a sheet's period comes from: a fixed value, the sheet name, a cell, or a column."""

    source: Literal["fixed", "sheet", "cell", "column", "header"] = Field("column", alias="from")
    value: str | None = Field(None, description="the period, when from: fixed")
    cell: str | None = Field(None, description="an A1 reference holding a period label, when from: cell")
    column: str | None = Field(None, description="header of the column holding the period, when from: column")

    model_config = Strict.model_config | {"populate_by_name": True}


class ColumnMap(Strict):
    """One value column of a wide table."""

    header: str | None = Field(None, description="the header text; multi-row headers are joined with '/'")
    match: str | None = Field(None, description="a regular expression on the header, instead of header")
    indicator: str | None = Field(None, description="indicator id (default: the sheet's indicator)")
    basis: Basis | None = Field(None, description="当月 (period) or 累计 (ytd); default: the indicator's")
    measure: str | None = Field(None, description="the unit the values are written in, e.g. 亿元")
    period: str | None = Field(None, description="a fixed period for this column, or 'header' to read the header as one")

    @model_validator(mode="after")
    def _one_selector(self) -> "ColumnMap":
        if (self.header is None) == (self.match is None):
            raise ValueError("give exactly one of header or match")
        return self


class SheetLayout(Strict):
    """The layout of the sheets whose name matches ``name`` (CSV files have one sheet, named ''): every
    layout whose pattern matches '' (the default ``.*`` does) reads a CSV, so one table may be read several ways."""

    name: str = Field(".*", description="regular expression on the sheet name")
    shape: Literal["long", "wide"] = "wide"
    skip_rows: int = Field(0, ge=0, description="title rows above the header")
    header_rows: int = Field(1, ge=1, le=5)
    unit_column: str = Field("unit", description="header of the column naming the unit")
    indicator: str | None = Field(None, description="indicator of every column (sheet per indicator)")
    period: PeriodFrom = Field(default_factory=lambda: PeriodFrom(source="column", column="period"))
    columns: list[ColumnMap] = Field(default_factory=list)
    where: dict[str, str] = Field(default_factory=dict, description="keep only rows whose column equals the value")
    basis_column: str | None = Field(None, description="wide layout: header of a column stating each row's basis "
                                                       "(累计, 当月, 1-6月…), for columns that do not give their own")
    skip_units: list[str] = Field(
        default_factory=lambda: ["合计", "总计", "小计", "全市合计", "备注"],
        description="row labels that are not units (totals, notes): skipped, not quarantined",
    )
    required: bool = Field(True, description="a workbook without a matching sheet is an error")

    @field_validator("name")
    @classmethod
    def _valid_regex(cls, value: str) -> str:
        re.compile(value)
        return value

    @model_validator(mode="after")
    def _wide_has_columns(self) -> "SheetLayout":
        if self.shape == "wide" and not self.columns:
            raise ValueError("a wide layout needs columns")
        return self


class SourceSpec(Strict):
    """Where a scheduled collector reads: a source kind registered in ``collectors.sources`` and its options.

    The options of each kind are checked by that kind's own model (see ``collectors/sources``)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    kind: str = Field(description="dropfolder, files, http, sql, sdmx, or a kind a plugin registers")

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class ScheduleSpec(Strict):
    """When a collector runs (Asia/Shanghai): exactly one of cron, every, or working_day."""

    cron: str | None = Field(None, description="crontab line, e.g. '0 9 10 * *' = the 10th of each month at 09:00")
    every: str | None = Field(None, pattern=r"^\d+(s|m|h|d)$", description="an interval such as 30s, 15m, 1h, 1d")
    working_day: int | None = Field(None, ge=1, le=23, description="the Nth Chinese working day of each month (调休 included)")
    at: str = Field("09:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="time of day for working_day")
    misfire_grace: int = Field(6 * 3600, ge=1, description="seconds a missed run may be late and still run (once)")
    retries: int = Field(3, ge=0, le=20, description="retries of a failed collection before an operational alert")
    backoff: float = Field(30.0, ge=0, description="seconds before the first retry; doubles on each retry")

    @model_validator(mode="after")
    def _one_kind(self) -> "ScheduleSpec":
        if sum(x is not None for x in (self.cron, self.every, self.working_day)) != 1:
            raise ValueError("give exactly one of cron, every or working_day")
        return self


class FieldMapping(Strict):
    """How the fields of a record (an API item, a query row, an SDMX observation) become observations.

    ``fields`` names the record field of each observation field; ``fixed`` gives a constant instead;
    ``codes`` translates source codes (an SDMX REPORTER code, an API region code) to registry names."""

    fields: dict[Literal["unit", "indicator", "period", "value", "basis", "measure"], str] = Field(default_factory=dict)
    fixed: dict[Literal["unit", "indicator", "period", "basis", "measure"], str] = Field(default_factory=dict)
    codes: dict[Literal["unit", "indicator", "period"], dict[str, str]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _complete(self) -> "FieldMapping":
        missing = [f for f in ("unit", "indicator", "period", "value") if f not in self.fields and f not in self.fixed]
        if missing:
            raise ValueError(f"map or fix {', '.join(missing)}: each observation needs unit, indicator, period and value")
        both = set(self.fields) & set(self.fixed)
        if both:
            raise ValueError(f"{', '.join(sorted(both))} both mapped and fixed: give one")
        return self


class CollectorSpec(Strict):
    files: list[str] = Field(default_factory=list, description="globs, relative to the deployment folder")

    @field_validator("files")
    @classmethod
    def _inside_the_deployment(cls, globs: list[str]) -> list[str]:
        for pattern in globs:
            # A resolved ".." would never match what the glob lister finds (it globs the unresolved folder), so such
            # a glob silently matched nothing: refuse it and say why.
            if ".." in Path(pattern).parts:
                raise ValueError(f"file glob {pattern!r} contains '..': a glob is relative to the deployment folder and "
                                 "may not climb out of it; write an absolute path, or move the files below the folder (e.g. inbox/)")
        return globs
    encoding: str | None = Field(None, description="CSV encoding; default: detect UTF-8 (with or without BOM) or GB18030")
    sheets: list[SheetLayout] = Field(default_factory=list, description="layouts of the files (required with files)")
    source: SourceSpec | None = Field(None, description="where a scheduled collector reads; default: the files")
    schedule: ScheduleSpec | None = Field(None, description="when `targetwatch serve` runs this collector")
    mapping: FieldMapping | None = Field(None, description="record fields → observations, for http, sql and sdmx")
    reported_at: Literal["ingest", "document"] = Field(
        "ingest",
        description="the report time of a file: when it is ingested, or the date the document states "
        "(a workbook's own 'modified' property, else the file's modification time)",
    )

    @model_validator(mode="after")
    def _files_have_layouts(self) -> "CollectorSpec":
        if self.files and not self.sheets:
            raise ValueError("a collector with files needs sheets (the layout of the files)")
        return self


class Metadata(Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    title: str | None = None


class Collector(Strict):
    """A collector mapping file."""

    apiVersion: Literal["targetwatch/v1"]
    kind: Literal["Collector"]
    metadata: Metadata
    spec: CollectorSpec
    path: Path | None = Field(None, exclude=True)

    def layout_for(self, sheet: str) -> SheetLayout | None:
        for layout in self.spec.sheets:
            if re.search(layout.name, sheet):
                return layout
        return None


# The layout of a canonical long CSV: unit,indicator,period,value[,basis][,source][,measure].
LONG_CSV = SheetLayout(shape="long", unit_column="unit", period=PeriodFrom(source="column", column="period"))


def load_collectors(config_dir: Path) -> list[Collector]:
    """Every collector mapping of a deployment, located errors on a bad one."""
    out: list[Collector] = []
    for path in sorted((config_dir / "collectors").glob("*.yaml")):
        for doc in yamlio.load_all(path):
            collector = yamlio.parse_model(Collector, doc, str(path))
            if any(c.metadata.name == collector.metadata.name for c in out):
                line, col = doc.position
                raise ConfigError(f"duplicate collector name {collector.metadata.name!r}", Location(str(path), line=line, col=col))
            out.append(collector.model_copy(update={"path": path}))
    return out
