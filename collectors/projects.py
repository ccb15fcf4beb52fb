"""项目台账: read the project ledgers investment offices keep, land their projects, derive unit indicators.

A ledger is a workbook with one row per project under Chinese headers (项目名称, 所属单位, 总投资（亿元）,
签约时间, 开工时间, 投产时间, 包联领导, 责任部门, 1月到位资金 …) and a title above them that names the
year (大祥区2023年招商引资项目台账（1-6月）). Dates are read as people type them (2023.5.6,
2023年5月6日, 5月6日 with the title's year, Excel serials) by :func:`targetwatch.periods.parse_date`.

:func:`read_ledger` never raises: every problem is a located error row (sheet, row, column, reason)
and the other projects still read. A project whose stages go backwards, whose unit the registry does
not know, or whose name appears twice in one unit is an error; so is a date, amount, person or
department that cannot be read. :func:`ingest_ledger` lands the good projects as revisions of the
project ledger, writes the indicators derived from the whole ledger of the units concerned into the
store as observations (so rules, ranks, dashboards and digests read them like reported figures), and
quarantines the errors in the same batch.
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from targetwatch import periods
from targetwatch.errors import PeriodError, SourceError
from targetwatch.projects import PROJECT_COLUMNS, SOURCE_TYPES, STAGE_ORDER, STAGES, ProjectConfig, load_project_config
from targetwatch.store import QUARANTINE_COLUMNS, STAGED_COLUMNS, StagedChunk

# Header → field. Headers are compared without spaces and without a trailing unit of measure.
HEADERS: dict[str, tuple[str, ...]] = {
    "project": ("项目编号", "编号", "项目代码"),
    "name": ("项目名称", "项目名"),
    "unit": ("所属单位", "所在单位", "县市区", "所属县市区", "单位", "所属园区"),
    "sector": ("所属行业", "行业", "行业类别", "产业类别"),
    "chain": ("产业链", "所属产业链"),
    "investment": ("总投资", "合同投资额", "签约投资额", "计划总投资", "投资额", "合同引资额"),
    "source_type": ("项目来源", "来源类型", "引资类型", "资金来源"),
    "leader": ("包联领导", "联系领导", "责任领导", "包联县级领导"),
    "department": ("责任部门", "责任单位", "牵头部门"),
    "planned_start": ("计划开工时间", "计划开工", "计划开工日期"),
    "planned_production": ("计划投产时间", "计划投产", "计划投产日期"),
    "batch": ("签约批次", "签约活动", "批次"),
    "annual_plan": ("年度计划投资", "年度计划", "本年计划投资", "年度投资计划"),
    "notes": ("备注", "进展情况", "项目进展", "存在问题"),
    **{stage: (word, f"{word}时间", f"{word}日期", f"实际{word}时间") for stage, word in STAGES.items()},
}
_LOOKUP = {h: f for f, names in HEADERS.items() for h in names}
_MEASURE = re.compile(r"[（(]\s*(亿元|万元|元)\s*[)）]")
_MONEY_KIND_WORD = re.compile(r"到位资金|完成投资")
_MONEY_RANGE = re.compile(r"累计|\d\s*[-—–~至]\s*\d{1,2}\s*月")
_MONEY_YEAR = re.compile(r"(\d{4})年")
_MONEY_MONTH = re.compile(r"(?<!\d)(\d{1,2})月")
_TITLE_YEAR = re.compile(r"(\d{4})\s*年")
_TITLE_THROUGH = re.compile(r"(\d{4})\s*年\s*(?:1\s*[-—–~至]\s*)?(\d{1,2})\s*月")
_THROUGH_ONLY = re.compile(r"(?:1\s*[-—–~至]\s*|截至\s*)(\d{1,2})\s*月")
_SOURCE_ALIASES = {"省外境内": "内资", "境内": "内资", "国内": "内资", "境外": "外资", "港澳台": "外资", "湘商": "湘商回湘",
                   "500强": "三类500强", "三类五百强": "三类500强"}
_MONEY_KIND = {"到位资金": "funds", "完成投资": "invested"}
_TOTAL_ROW = re.compile(r"^(合计|小计|总计)")


class LedgerRead(NamedTuple):
    """What one ledger file holds: good projects (``PROJECT_COLUMNS``), errors (``QUARANTINE_COLUMNS``),
    and the month the ledger runs to (from its title, else its latest date or money column), if any."""

    projects: pd.DataFrame
    errors: pd.DataFrame
    through: periods.Period | None


def read_ledger(path: str | Path, dep=None) -> LedgerRead:
    """Read a 台账 workbook; never raises on bad input (see the module docstring).

    Without ``dep`` (the deployment) units, people and departments are kept as written, unchecked.
    """
    errors: list[dict] = []
    try:
        return _read(Path(path), dep, errors)
    except Exception as exc:  # noqa: BLE001 - the contract: a broken file is one located error, never a crash
        errors.append(_error(None, None, None, f"file rejected: {type(exc).__name__}: {exc}"))
        return LedgerRead(pd.DataFrame(columns=PROJECT_COLUMNS), pd.DataFrame(errors, columns=QUARANTINE_COLUMNS), None)


def _parsed_sheets(path: Path, dep) -> tuple[list[str], dict[str, list[list]]]:
    """Every sheet's cells, read as any other workbook is (issue 14): the limits before parsing, then
    calamine in the sandbox child, so a ledger that would abort the parser cannot abort the command.

    Raises :class:`SourceError` (over a limit) or :class:`WorkbookParseError` (unreadable, parser died)."""
    from collectors.limits import check_before_parsing
    from collectors.sandbox import read_sheets
    from targetwatch.settings import Limits

    limits = dep.settings.limits if dep is not None else Limits()
    check_before_parsing(path, limits, excel=True)
    return read_sheets(str(path), [".*"], limits.parser_memory_mb, limits.parser_seconds)


def _read(path: Path, dep, errors: list[dict]) -> LedgerRead:
    from collectors.sandbox import WorkbookParseError

    try:
        names, grids = _parsed_sheets(path, dep)
    except (SourceError, WorkbookParseError) as exc:
        errors.append(_error(None, None, None, f"file rejected: {getattr(exc, 'message', None) or exc}"))
        return LedgerRead(pd.DataFrame(columns=PROJECT_COLUMNS), pd.DataFrame(errors, columns=QUARANTINE_COLUMNS), None)
    rows: list[dict] = []
    through: periods.Period | None = None
    found = False
    for sheet in names:
        grid = grids.get(sheet, [])
        header_at = next((i for i, r in enumerate(grid[:15]) if any(_norm(c) in HEADERS["name"] for c in r)), None)
        if header_at is None:
            continue
        found = True
        title = " ".join(str(c) for r in grid[:header_at] for c in r if c not in (None, ""))
        sheet_rows, sheet_through = _read_sheet(grid, header_at, title, sheet, dep, errors)
        rows.extend(sheet_rows)
        through = max(filter(None, [through, sheet_through]), default=None)
    if not found:
        errors.append(_error(None, None, None, "file rejected: no sheet has a 项目名称 header (is this a project ledger?)"))
    projects = pd.DataFrame(rows, columns=[*PROJECT_COLUMNS, "at_sheet", "at_row", "at_raw"])
    projects = _drop_duplicates(projects, errors)
    return LedgerRead(projects[PROJECT_COLUMNS].reset_index(drop=True), pd.DataFrame(errors, columns=QUARANTINE_COLUMNS), through)


def _read_sheet(grid: list[list], header_at: int, title: str, sheet: str, dep, errors: list[dict]):
    header = [str(c) if c not in (None, "") else "" for c in grid[header_at]]
    body_from = header_at + 1
    below = grid[header_at + 1] if header_at + 1 < len(grid) else []
    # A second header row (到位资金 over 1月 2月 …, merged): join each group header with its sub-header.
    if any(re.fullmatch(r"\d{1,2}月(份)?", _norm(c)) for c in below):
        group = ""
        for i in range(max(len(header), len(below))):
            top = header[i] if i < len(header) else ""
            group = top or group
            sub = str(below[i]) if i < len(below) and below[i] not in (None, "") else ""
            if i >= len(header):
                header.append("")
            header[i] = f"{group}/{sub}" if sub else top
        body_from += 1
    year_match = _TITLE_YEAR.search(title)
    year = int(year_match.group(1)) if year_match else None
    through = None
    if m := _TITLE_THROUGH.search(title):
        through = _month(int(m.group(1)), int(m.group(2)))
    elif year and (m := _THROUGH_ONLY.search(title)):
        through = _month(year, int(m.group(1)))
    title_unit = _title_unit(title, dep)
    fields: dict[int, tuple[str, float]] = {}
    money: dict[int, tuple[str, str, float]] = {}
    for i, text in enumerate(header):
        scale = 1e-4 if "万元" in text else 1.0
        key = _norm(text)
        if key in _LOOKUP:
            fields[i] = (_LOOKUP[key], scale)
        elif (kind := _MONEY_KIND_WORD.search(key)) and not _MONEY_RANGE.search(key) and (m := _MONEY_MONTH.search(_MONEY_YEAR.sub("", key))):
            # 1月到位资金, 到位资金/1月, 2023年到位资金（亿元）/1月: one month of 到位资金 or 完成投资.
            y_match = _MONEY_YEAR.search(key)
            y = int(y_match.group(1)) if y_match else year
            month = int(m.group(1))
            if y is None or not 1 <= month <= 12:
                errors.append(_error(sheet, header_at + 1, text, "a monthly money column without a year (none in the title) or with an impossible month"))
                continue
            money[i] = (_MONEY_KIND[kind.group(0)], f"{y}-{month:02d}", scale)
    names = {f: i for i, (f, _) in fields.items()}
    if "unit" not in names and title_unit is None:
        errors.append(_error(sheet, header_at + 1, None, "no 所属单位 column, and the title names no unit of the registry"))
        return [], through
    out, latest = [], None
    for r in range(body_from, len(grid)):
        raw = grid[r]
        cells = {f: raw[i] if i < len(raw) else None for i, (f, _) in fields.items()}
        if all(_blank(v) for v in raw):
            continue
        name = "" if _blank(cells.get("name")) else str(cells["name"]).strip()
        if _TOTAL_ROW.match(name) or (not name and _TOTAL_ROW.match(str(raw[0] or "").strip())):
            continue
        row_errors: list[dict] = []

        def bad(column: str | None, reason: str) -> None:
            row_errors.append(_error(sheet, r + 1, column, reason, raw))

        if not name:
            bad(header[names["name"]], "a project without a 项目名称")
        rec: dict = {"name": name, "at_sheet": sheet, "at_row": r + 1, "at_raw": raw, "funds": {}, "invested": {}}
        for f, i in names.items():
            value, scale = cells[f], fields[i][1]
            column = header[i]
            if f in ("name",) or _blank(value):
                continue
            if f in STAGES or f in ("planned_start", "planned_production"):
                try:
                    day = periods.parse_date(value, year, month_only="last" if f.startswith("planned") else "first")
                    rec[f] = pd.Timestamp(day)
                except PeriodError as exc:
                    bad(column, exc.message)
            elif f in ("investment", "annual_plan"):
                amount = _amount(value)
                if amount is None or amount < 0:
                    bad(column, f"not an amount: {value!r} (write a number, in the column's 亿元 or 万元)")
                else:
                    rec[f] = round(amount * scale, 6)
            elif f == "unit":
                rec["unit"] = _unit(str(value), dep)
                if rec["unit"] is None:
                    bad(column, f"unknown unit {str(value).strip()!r}: not in registry/units.yaml")
            elif f == "department":
                rec["department"] = _unit(str(value), dep)
                if rec["department"] is None:
                    bad(column, f"unknown department {str(value).strip()!r}: not in registry/units.yaml")
            elif f == "leader":
                rec["leader"] = _person(str(value), dep)
                if rec["leader"] is None:
                    bad(column, f"unknown 包联领导 {str(value).strip()!r}: not in registry/people.yaml")
            elif f == "source_type":
                text = _norm(value)
                text = _SOURCE_ALIASES.get(text, text)
                if text not in SOURCE_TYPES:
                    bad(column, f"unknown source type {str(value)!r}: write {'、'.join(SOURCE_TYPES)}")
                else:
                    rec["source_type"] = text
            else:
                rec[f] = str(value).strip()
        if rec.get("unit") is None and not any(e["column"] == header[names["unit"]] for e in row_errors if "unit" in names):
            rec["unit"] = title_unit  # a ledger of one unit names it in its title (大祥区2023年…台账)
            if title_unit is None:
                bad(header[names["unit"]] if "unit" in names else None, "a project without a 所属单位, and the title names no unit")
        for i, (kind, month, scale) in money.items():
            value = raw[i] if i < len(raw) else None
            if _blank(value):
                continue
            amount = _amount(value)
            if amount is None:
                bad(header[i], f"not an amount: {value!r}")
            elif amount != 0:
                rec[kind][month] = round(amount * scale, 6)
        for earlier, later in STAGE_ORDER:
            a, b = rec.get(earlier), rec.get(later)
            if a is not None and b is not None and b < a:
                bad(header[names[later]], f"stage goes backwards: {STAGES[later]} {b:%Y-%m-%d} before {STAGES[earlier]} {a:%Y-%m-%d}")
        if rec.get("annual_plan") is not None:
            rec["plan_year"] = year
        if row_errors:
            errors.extend(row_errors)
            continue
        pid = rec.get("project")
        rec["project"] = pid if pid else _project_id(rec["unit"], name)
        # Without a period in the title, the ledger runs to the latest month it mentions.
        seen = [periods.Period(d.year, d.month, d.month) for d in (rec.get(s) for s in STAGES) if d is not None]
        seen += [periods.parse(m) for m in (*rec["funds"], *rec["invested"])]
        latest = max([p for p in (latest, *seen) if p is not None], default=None)
        out.append(rec)
    return out, through or latest


def _drop_duplicates(projects: pd.DataFrame, errors: list[dict]) -> pd.DataFrame:
    """Two rows with the same name in one unit (or the same 项目编号) are errors, every occurrence of them."""
    if projects.empty:
        return projects
    same_name = projects.duplicated(["unit", "name"], keep=False)
    same_id = projects.duplicated(["project"], keep=False)
    for row, by_name in zip(projects[same_name | same_id].itertuples(index=False), same_name[same_name | same_id]):
        what = (f"project name {row.name!r} appears more than once in unit {row.unit!r}" if by_name
                else f"项目编号 {row.project!r} appears more than once")
        errors.append(_error(row.at_sheet, row.at_row, "项目名称" if by_name else "项目编号", what, row.at_raw))
    return projects[~(same_name | same_id)]


# ---- deriving the unit indicators -------------------------------------------------------------------

# Indicator ids the ledger derives (registry/indicators.yaml names them): one place, read by rules too.
COUNTS = {
    "projects_signed": "signed",
    "projects_started": "started",
    "projects_in_production": "in_production",
}
DERIVED = ("projects_signed", "projects_signed_investment", "projects_signed_over_100m", "projects_signed_over_1b",
           "projects_signed_hunan_merchant", "projects_registered_hunan_merchant", "projects_signed_top500",
           "projects_started", "projects_in_production", "project_funds_in_place", "project_funds_hunan_merchant",
           "project_investment_completed", "project_completion_rate")


def events(projects: pd.DataFrame, config: ProjectConfig) -> pd.DataFrame:
    """One row per (indicator, unit, month, project, value): the ledger facts each derived count adds up."""
    frames = []
    production = projects[["in_production", "completed"]].min(axis=1)
    dated = {"projects_signed": projects["signed"], "projects_started": projects["started"], "projects_in_production": production}
    amount = projects["investment"]
    dated["projects_signed_investment"] = projects["signed"].where(amount.notna())
    dated["projects_signed_over_100m"] = projects["signed"].where(amount >= config.over_100m)
    dated["projects_signed_over_1b"] = projects["signed"].where(amount >= config.over_1b)
    merchant, top500 = projects["source_type"].eq("湘商回湘"), projects["source_type"].eq("三类500强")
    dated["projects_signed_hunan_merchant"] = projects["signed"].where(merchant)
    dated["projects_registered_hunan_merchant"] = projects["registered"].where(merchant)
    dated["projects_signed_top500"] = projects["signed"].where(top500)
    for indicator, when in dated.items():
        keep = when.notna()
        value = amount[keep] if indicator == "projects_signed_investment" else pd.Series(1.0, index=keep[keep].index)
        frames.append(pd.DataFrame({"indicator": indicator, "unit": projects["unit"][keep], "project": projects["project"][keep],
                                    "period": (when[keep].dt.year * 10000 + when[keep].dt.month * 101).astype("int64"),
                                    "value": value.astype(float)}))
    for indicator, column, which in (("project_funds_in_place", "funds", None), ("project_investment_completed", "invested", None),
                                     ("project_funds_hunan_merchant", "funds", merchant)):
        chosen = projects if which is None else projects[which]
        rows = [(p, u, m, v) for p, u, by_month in zip(chosen["project"], chosen["unit"], chosen[column]) for m, v in by_month.items()]
        if rows:
            money = pd.DataFrame(rows, columns=["project", "unit", "month", "value"])
            frames.append(money.assign(indicator=indicator, period=[periods.parse(m).code for m in money["month"]]).drop(columns="month"))
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["indicator", "unit", "project", "period", "value"])
    return out[["indicator", "unit", "period", "project", "value"]]


def derive(projects: pd.DataFrame, through: periods.Period, config: ProjectConfig) -> pd.DataFrame:
    """The derived observations (``STAGED_COLUMNS``) of every unit in ``projects``, month by month from
    January of the earliest year the ledger mentions to ``through``: 当月 (period) and 累计 (ytd) rows.

    Counts are zero in a month when no project reached the stage (the ledger covers the unit); money
    and the completion rate exist only for units whose ledger has such columns (no data is not zero).
    """
    if projects.empty:
        return pd.DataFrame(columns=STAGED_COLUMNS)
    facts = events(projects, config)
    facts = facts[facts["period"] <= through.code]
    first_year = int(min(facts["period"].min() // 10000, through.year)) if len(facts) else through.year
    months = [periods.Period(y, m, m).code for y in range(first_year, through.year + 1) for m in range(1, 13)
              if periods.Period(y, m, m) <= through]
    units = sorted(projects["unit"].dropna().unique())
    money = ("project_funds_in_place", "project_funds_hunan_merchant", "project_investment_completed")
    # Money only where the ledger has such columns (a unit with 到位资金 gets 湘商回湘 funds, possibly 0).
    money_units = {i: set(facts.loc[facts["indicator"] == i, "unit"]) for i in money}
    money_units["project_funds_hunan_merchant"] = money_units["project_funds_in_place"]
    out, ytd = [], {}
    for indicator in DERIVED[:-1]:
        wanted = sorted(money_units[indicator]) if indicator in money_units else units
        if not wanted:
            continue
        sums = facts[facts["indicator"] == indicator].groupby(["unit", "period"])["value"].sum()
        grid = sums.reindex(pd.MultiIndex.from_product([wanted, months], names=["unit", "period"]), fill_value=0.0)
        frame = grid.rename("value").reset_index()
        frame["year"] = frame["period"] // 10000
        frame["ytd"] = frame.groupby(["unit", "year"])["value"].cumsum().round(6)
        out.append(frame.assign(indicator=indicator, basis="period", value=frame["value"].round(6)))
        ytd[indicator] = frame.assign(indicator=indicator, basis="ytd", value=frame["ytd"])
        out.append(ytd[indicator])
    rate = _completion_rate(projects, ytd.get("project_investment_completed"))
    if rate is not None:
        out.append(rate)
    frame = pd.concat(out, ignore_index=True)
    # Derived rows come from no single cell: the store's (sheet, column) is where the figure comes from.
    frame = frame.assign(row=0, sheet="项目台账（派生）", column=frame["indicator"])
    return frame[STAGED_COLUMNS].reset_index(drop=True)


def _completion_rate(projects: pd.DataFrame, invested_ytd: pd.DataFrame | None) -> pd.DataFrame | None:
    """完成率 = investment completed year to date ÷ the year's planned investment (年度计划) × 100."""
    if invested_ytd is None or projects["annual_plan"].isna().all():
        return None
    plans = projects.dropna(subset=["annual_plan", "plan_year"]).groupby(["unit", "plan_year"])["annual_plan"].sum()
    plans.index = plans.index.set_levels(plans.index.levels[1].astype("int64"), level=1)
    key = pd.MultiIndex.from_arrays([invested_ytd["unit"], invested_ytd["period"] // 10000])
    plan = plans.reindex(key).to_numpy()
    rate = invested_ytd.assign(indicator="project_completion_rate", basis="ytd",
                               value=np.round(invested_ytd["value"].to_numpy() / plan * 100, 6))
    return rate[np.isfinite(plan) & (plan > 0)]


# ---- landing -------------------------------------------------------------------------------------------


def ledger_globs(dep) -> list[str]:
    return load_project_config(dep.root).ledgers


def is_ledger(path: Path, dep) -> bool:
    """Whether ``path`` is one of the deployment's 台账 files (``projects.yaml`` ``ledgers``)."""
    resolved = str(path.resolve())
    return any(fnmatch.fnmatch(resolved, str((dep.root / g).resolve())) or fnmatch.fnmatch(path.name, g) for g in ledger_globs(dep))


def looks_like_ledger(path: Path, dep=None) -> bool:
    """Whether a workbook has a sheet with a 项目名称 header in its first rows (never raises; parsed within
    the limits and in the sandbox like any workbook)."""
    try:
        names, grids = _parsed_sheets(path, dep)
        return any(_norm(c) in HEADERS["name"] for s in names for r in grids.get(s, [])[:15] for c in r)
    except Exception:  # noqa: BLE001 - over a limit or unreadable: not a ledger either; the ordinary path reports it
        return False


def ledger_files(dep) -> list[Path]:
    """The regular files the ledger globs name (links and special files are never read)."""
    from collectors.ingest import glob_entries

    return glob_entries(dep, ledger_globs(dep))[0]


def ingest_ledger(dep, store, path: str | Path, *, reported_at: datetime | None = None, content_hash: str | None = None):
    """Land one ledger: project revisions, derived observations and quarantined errors in one store batch."""
    from collectors.ingest import IngestResult, content_hash as hash_of, document_time, not_a_regular_file
    from targetwatch.store.projects import ProjectLedger, ledger_path

    path = Path(path)
    result = IngestResult(file=str(path), collector="项目台账")
    refused = not_a_regular_file(path)  # checked without following links, as for every other file
    if refused:
        result.error = f"{path}: {refused}"
        return result
    config = load_project_config(dep.root)
    reported_at = reported_at or document_time(path)
    read = read_ledger(path, dep)
    ledger = ProjectLedger(ledger_path(store, dep.settings))
    try:
        ledger.land(read.projects, source=str(path), reported_at=reported_at)
        units = sorted(read.projects["unit"].dropna().unique())
        current = ledger.read(units=units)
    finally:
        ledger.close()
    through = read.through or periods.Period(reported_at.year, reported_at.month, reported_at.month)
    good = derive(current, through, config)
    chunk = StagedChunk(good=good, bad=read.errors)
    result.batch = store.ingest(iter([chunk]), source=str(path), content_hash=content_hash or hash_of(path), reported_at=reported_at)
    result.reasons = dict(result.batch.reasons)
    file_errors = read.errors[read.errors["row"].isna()]["reason"].tolist()
    if file_errors:
        result.error = "; ".join(file_errors)
    return result


# ---- small readers ---------------------------------------------------------------------------------------


def _norm(value) -> str:
    text = "".join(str(value if value is not None else "").split()).replace("\u3000", "")
    return _MEASURE.sub("", text)


def _blank(value) -> bool:
    return value is None or (isinstance(value, float) and value != value) or (isinstance(value, str) and value.strip() in ("", "/", "—", "-"))


def _amount(value) -> float | None:
    """A finite number, or None: float() also reads inf, 1e309 and nan, which are no amount."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        text = _norm(value).replace(",", "").replace("，", "").removesuffix("亿元").removesuffix("亿")
        try:
            number = float(text)
        except ValueError:
            return None
    return number if np.isfinite(number) else None


def _month(year: int, month: int) -> periods.Period | None:
    return periods.Period(year, month, month) if 1 <= month <= 12 else None


def _unit(text: str, dep) -> str | None:
    return text.strip() if dep is None else dep.unit_id(text)


def _person(text: str, dep) -> str | None:
    if dep is None:
        return text.strip()
    key = _norm(text)
    return next((p.id for p in dep.people.values() if key in (p.id, _norm(p.name))), None)


def _title_unit(title: str, dep) -> str | None:
    """The registry unit whose name (longest first) the title names: 大祥区2023年招商引资项目台账 → daxiang."""
    if dep is None or not title:
        return None
    text = _norm(title)
    hits = [(len(n), u.id) for u in dep.units.values() for n in (u.name, *u.aliases) if len(n) >= 2 and n in text]
    return max(hits)[1] if hits else None


def _project_id(unit: str | None, name: str) -> str:
    """A stable id for a project without a 项目编号: its unit and a hash of its name."""
    return f"{unit or 'x'}_{hashlib.sha1(name.encode()).hexdigest()[:8]}"


def _error(sheet, row, column, reason, raw=None) -> dict:
    text = None if raw is None else ",".join("" if _blank(v) else str(v) for v in raw)
    return {"sheet": sheet, "row": row, "column": column, "reason": reason, "raw": text}

