"""Projects judged one by one: stalls, 到位资金 pacing and milestones, as verdicts for the 包联领导.

The ledger (``targetwatch.store.projects``) is read as of the evaluation time. Each check yields one
verdict row per project it applies to, in the ordinary verdict frame (``rules.verdict``), so the
projects reach /metrics, Alertmanager, the digests and the ledger of notifications like every target:

* ``project_stall_signed``: signed N days without 开工 (``stalls.signed_days_without_start``, per sector);
* ``project_stall_started``: started N months without 投产 or 竣工;
* ``project_funds_pacing``: 到位资金 to date against the contracted amount, expected to arrive evenly over
  ``funds.months_to_full`` months from 签约 (units whose ledger records no 到位资金 are not judged);
* ``project_milestone_start`` / ``project_milestone_production``: 计划开工/计划投产 by a date (5月底前开工).

In a verdict row ``indicator`` holds the project id (the rule names the check), ``unit`` the project's
unit, ``leader`` its 包联领导 and ``lead_department`` its 责任部门 (:func:`project_owners`).
"""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pandas as pd

from rules import verdict
from rules.owners import owner_chain
from targetwatch import periods
from targetwatch.errors import ConfigError
from targetwatch.model import Owners
from targetwatch.projects import PIPELINE, STAGES, ProjectConfig, load_project_config, months_between
from targetwatch.store.projects import ProjectLedger, ledger_path

RULE_PREFIX = "project_"
CHECKS = {
    "project_stall_signed": "签约未开工",
    "project_stall_started": "开工未投产",
    "project_funds_pacing": "到位资金进度",
    "project_milestone_start": "计划开工节点",
    "project_milestone_production": "计划投产节点",
}
# Derived indicator → the stage date (or money column) whose projects it counts, for ``explain``.
BEHIND_COUNT = {
    "projects_signed": "signed", "projects_signed_investment": "signed", "projects_signed_over_100m": "signed",
    "projects_signed_over_1b": "signed", "projects_signed_hunan_merchant": "signed", "projects_signed_top500": "signed",
    "projects_registered_hunan_merchant": "registered", "project_funds_hunan_merchant": "funds",
    "projects_started": "started", "projects_in_production": "in_production",
    "project_funds_in_place": "funds", "project_investment_completed": "invested", "project_completion_rate": "invested",
}


def read_projects(dep, store, as_of=None) -> pd.DataFrame:
    """The ledger as of a time (latest revision of each project reported by then); empty before any ledger landed."""
    path = ledger_path(store, dep.settings)
    if not path.exists():
        return ProjectLedger.empty()
    ledger = ProjectLedger(path)
    try:
        return ledger.read(as_of=periods.as_of_instant(as_of) if as_of is not None else None)
    finally:
        ledger.close()


def project_owners(dep, project, config: ProjectConfig | None = None) -> Owners:
    """Who answers for a project: its 包联领导 and 责任部门, else its unit's owners, else the configured owner.

    The one place that resolves a project's owners, through the owner chain of :mod:`rules.owners`.
    """
    own = Owners(leader=_text(project.get("leader")),
                 lead_department=[d] if (d := _text(project.get("department"))) else [])
    unit = dep.units.get(_text(project.get("unit")) or "")
    # The project's own roles stand where a rule's would, its unit's owners fill in (rules.owners).
    merged = owner_chain(own, None, unit.owners if unit is not None else None)
    if merged.leader is None:
        merged = merged.merged_over(Owners(leader=(config or load_project_config(dep.root)).owner))
    return merged


def ledger_leaders(dep) -> set[str]:
    """The 包联领导 the deployment's ledger files name (and the configured fallback owner), for routing."""
    from collectors.projects import ledger_files, read_ledger

    ids = {load_project_config(dep.root).owner} - {None}
    for path in ledger_files(dep):
        ids.update(p for p in read_ledger(path, dep).projects["leader"].dropna())
    return ids


def status_frame(projects: pd.DataFrame, day: date, config: ProjectConfig) -> pd.DataFrame:
    """Each project's stage as of ``day``, days in that stage, money to date and the stall figures."""
    out = projects.copy()
    when = pd.Timestamp(day)
    reached = {s: out[s].where(out[s] <= when) for s in STAGES}
    production = pd.concat([reached["in_production"], reached["completed"]], axis=1).min(axis=1)
    stage = pd.Series("negotiating", index=out.index, dtype=object)
    since = reached["negotiating"].copy()
    for s, dates in (("signed", reached["signed"]), ("started", reached["started"]), ("in_production", production)):
        stage = stage.where(dates.isna(), s)
        since = since.where(dates.isna(), dates)
    out["stage"] = stage
    out["stage_zh"] = stage.map(STAGES)
    out["stage_since"] = since
    out["days_in_stage"] = (when - since).dt.days.astype("Int64")
    month = f"{day.year}-{day.month:02d}"
    out["funds_to_date"] = out["funds"].map(lambda m: round(sum(v for k, v in m.items() if k <= month), 6))
    out["invested_to_date"] = out["invested"].map(lambda m: round(sum(v for k, v in m.items() if k <= month), 6))
    limits = out["sector"].map(lambda s: config.limits(s if isinstance(s, str) else None))
    out["limit_signed_days"] = limits.map(lambda l: l.signed_days_without_start).astype("Float64")
    out["limit_started_months"] = limits.map(lambda l: l.started_months_without_production).astype("Float64")
    signed_waiting = stage.eq("signed")
    started_waiting = stage.eq("started")
    out["months_in_stage"] = ((when - since).dt.days / 30.436875).round(1)
    out["stalled"] = (signed_waiting & (out["days_in_stage"] > out["limit_signed_days"]).fillna(False)) | \
                     (started_waiting & (out["months_in_stage"] > out["limit_started_months"]).fillna(False))
    out["stalled"] = out["stalled"].astype(bool)
    return out


def project_verdicts(dep, store, instant: datetime, config: ProjectConfig | None = None, projects: pd.DataFrame | None = None,
                     period: str | None = None) -> pd.DataFrame:
    """One verdict row per (check, project) that applies, in the verdict frame's columns.

    Projects are judged at ``instant``. Their period label is ``period`` when one period is being judged
    (so that they join that period's digests), else the latest month ended by ``instant``.
    """
    config = config or load_project_config(dep.root)
    projects = projects if projects is not None else read_projects(dep, store, instant)
    if projects.empty:
        return verdict.empty()
    day = instant.date()
    frame = status_frame(projects, day, config)
    rows = [*_stalls(frame), *_funds(frame, day, config), *_milestones(frame, day, config)]
    if not rows:
        return verdict.empty()
    out = pd.DataFrame(rows)
    period = str(periods.parse(period)) if period not in (None, "all") else _judged_month(day)
    owners = {p: project_owners(dep, r, config).model_dump() for p, r in zip(frame["project"], frame.to_dict("records"))}

    def column(name: str) -> np.ndarray:
        return out[name].to_numpy(dtype=object)

    columns = verdict.rows(
        rule=column("rule"), unit=column("unit"), indicator=column("indicator"), period=period, as_of=day.isoformat(),
        status=column("status"), owners=[owners[p] for p in out["indicator"]], message=column("message"),
        rule_title=column("rule_title"), group=None, measure=column("measure"), target_version="v1", deadline=None,
        value=out["value"].to_numpy(float), target=out["target"].to_numpy(float), gap=out["gap"].to_numpy(float))
    return verdict.conform(verdict.as_frame([columns]))


def _status(value: np.ndarray, behind: np.ndarray, at_risk: np.ndarray) -> np.ndarray:
    return np.where(behind, "behind", np.where(at_risk, "at_risk", "on_track"))


def _rows(frame: pd.DataFrame, rule: str, status, value, target, measure: str, messages) -> list[dict]:
    titles = frame["name"] + "：" + CHECKS[rule]
    return [{"rule": rule, "unit": u, "indicator": p, "status": s, "value": v, "target": t, "gap": t - v if rule.startswith("project_stall") else v - t,
             "measure": measure, "rule_title": title, "message": m}
            for u, p, s, v, t, title, m in zip(frame["unit"], frame["project"], status, value, target, titles, messages)]


# The two stalls: (stage, its limit column, time in stage, the date it began, rule, unit of the time, how the
# message words it; days are whole, months may be fractional).
_STALLS = (
    ("signed", "limit_signed_days", "days_in_stage", "signed", "project_stall_signed", "天",
     lambda n, d, x, l: f"{n}于{d:%Y-%m-%d}签约，已{int(x)}天未开工（上限{int(l)}天）"),
    ("started", "limit_started_months", "months_in_stage", "started", "project_stall_started", "个月",
     lambda n, d, x, l: f"{n}于{d:%Y-%m-%d}开工，已{x:g}个月未投产（上限{l:g}个月）"),
)


def _stalls(frame: pd.DataFrame) -> list[dict]:
    out = []
    for stage, limit_col, elapsed_col, began_col, rule, measure, words in _STALLS:
        rows = frame[frame["stage"].eq(stage) & frame[limit_col].notna()]
        if not len(rows):
            continue
        elapsed = rows[elapsed_col].astype(float).to_numpy()
        limit = rows[limit_col].astype(float).to_numpy()
        status = _status(elapsed, elapsed > limit, elapsed > 0.8 * limit)
        msgs = [words(n, d, x, l) + ("，已停滞。" if x > l else "。")
                for n, d, x, l in zip(rows["name"], rows[began_col], elapsed, limit)]
        out += _rows(rows, rule, status, elapsed, limit, measure, msgs)
    return out


def _funds(frame: pd.DataFrame, day: date, config: ProjectConfig) -> list[dict]:
    if config.funds is None:
        return []
    # Only units whose ledger records 到位资金 at all: a ledger without the columns is no data, not zero.
    funded_units = set(frame.loc[frame["funds"].map(bool), "unit"])
    judged = frame[frame["unit"].isin(funded_units) & frame["signed"].notna() & (frame["signed"] <= pd.Timestamp(day))
                   & (frame["investment"] > 0)]
    if judged.empty:
        return []
    elapsed = np.array([months_between(d.date(), day) for d in judged["signed"]])
    keep = elapsed >= config.funds.grace_months  # right after signing no money is expected yet
    judged, elapsed = judged[keep], elapsed[keep]
    if judged.empty:
        return []
    contract = judged["investment"].to_numpy(float)
    expected = np.round(contract * np.minimum(1.0, elapsed / config.funds.months_to_full), 6)
    have = judged["funds_to_date"].to_numpy(float)
    share = have / expected
    status = _status(share, share < config.funds.behind_below, share < config.funds.at_risk_below)
    msgs = [f"{n}合同投资{c:g}亿元，签约{e:.0f}个月应到位{x:.2f}亿元，实际到位{h:g}亿元（{s:.0%}）。"
            for n, c, e, x, h, s in zip(judged["name"], contract, elapsed, expected, have, share)]
    return _rows(judged, "project_funds_pacing", status, have, expected, "亿元", msgs)


def _milestones(frame: pd.DataFrame, day: date, config: ProjectConfig) -> list[dict]:
    out = []
    when = pd.Timestamp(day)
    for rule, planned, reached_stages, word in (("project_milestone_start", "planned_start", ("started",), "开工"),
                                                 ("project_milestone_production", "planned_production", ("in_production", "completed"), "投产")):
        has = frame[frame[planned].notna()]
        if has.empty:
            continue
        reached = pd.concat([has[s].where(has[s] <= when) for s in reached_stages], axis=1).min(axis=1)
        left = (has[planned] - when).dt.days.to_numpy(float)
        done = reached.notna().to_numpy()
        status = np.where(done, "on_track", _status(left, left < 0, left <= config.milestone_warning_days))
        msgs = []
        for n, p, r, d in zip(has["name"], has[planned], reached, left):
            if pd.notna(r):
                msgs.append(f"{n}计划{p:%Y-%m-%d}前{word}，已于{r:%Y-%m-%d}{word}" + ("（晚于计划）。" if r > p else "。"))
            elif d < 0:
                msgs.append(f"{n}计划{p:%Y-%m-%d}前{word}，已逾期{int(-d)}天仍未{word}。")
            else:
                msgs.append(f"{n}计划{p:%Y-%m-%d}前{word}，还剩{int(d)}天。")
        overdue = np.where(done, 0.0, np.maximum(-left, 0.0)) + 0.0  # days past the planned date (0 while in time)
        out += _rows(has, rule, status, overdue, np.zeros(len(has)), "天", msgs)
    return out


def _judged_month(day: date) -> str:
    """The latest month ended by ``day`` (the period monthly rules judge by default)."""
    month = periods.Period(day.year, day.month, day.month)
    if day == month.end:
        return str(month)
    first = date(day.year, day.month, 1)
    prev = first.replace(day=1) - pd.Timedelta(days=1)
    return str(periods.Period(prev.year, prev.month, prev.month))


def _text(value) -> str | None:
    return value if isinstance(value, str) and value else None


# ---- listings ------------------------------------------------------------------------------------------

LIST_COLUMNS = ["project", "name", "unit", "unit_name", "sector", "chain", "investment", "source_type", "leader", "leader_name",
                "department", "stage", "stage_zh", "stage_since", "days_in_stage", *STAGES, "planned_start", "planned_production",
                "funds_to_date", "funds_by_month", "invested_to_date", "annual_plan", "batch", "stalled", "flags", "notes",
                "revision", "source"]


def list_projects(dep, store, *, as_of=None, unit: str | None = None, stage: str | None = None, stalled: bool = False,
                  verdicts: pd.DataFrame | None = None) -> pd.DataFrame:
    """Projects with their stage, days in stage, 到位资金 and flags (the ``targetwatch projects`` listing).

    ``verdicts`` (an evaluation's frame, with the project rows) spares judging the projects again.
    """
    # A mistyped filter is an error, not an empty list that reads as "no projects".
    unit_id = dep.unit_id(unit) if unit else None
    if unit and unit_id is None:
        raise ConfigError(f"unknown unit {unit!r}: see registry/units.yaml")
    wanted = next((s for s in PIPELINE if stage in (s, STAGES[s])), None) if stage else None
    if stage and wanted is None:
        raise ConfigError(f"unknown stage {stage!r}: write {', '.join(PIPELINE)} (or {'/'.join(STAGES[s] for s in PIPELINE)})")
    instant = periods.as_of_instant(as_of or dep.settings.as_of)
    projects = read_projects(dep, store, instant)
    if projects.empty:
        return pd.DataFrame(columns=LIST_COLUMNS)
    frame = status_frame(projects, instant.date(), load_project_config(dep.root))
    if verdicts is None:
        verdicts = project_verdicts(dep, store, instant, projects=projects)
    flagged = verdicts[verdicts["status"].isin(["behind", "at_risk"]) & verdicts["rule"].astype(str).str.startswith(RULE_PREFIX)]
    flags = flagged.groupby("indicator")["rule"].agg(lambda r: sorted(set(r)))
    frame["flags"] = frame["project"].map(flags).map(lambda v: v if isinstance(v, list) else [])
    if unit_id:
        frame = frame[frame["unit"] == unit_id]
    if wanted:
        frame = frame[frame["stage"] == wanted]
    if stalled:
        frame = frame[frame["stalled"]]
    frame = frame.assign(
        unit_name=frame["unit"].map(lambda u: dep.units[u].name if u in dep.units else u),
        leader_name=frame["leader"].map(lambda p: dep.people[p].name if isinstance(p, str) and p in dep.people else None),
        funds_by_month=frame["funds"],
    )
    for col in (*STAGES, "planned_start", "planned_production", "stage_since"):
        frame[col] = frame[col].dt.strftime("%Y-%m-%d").astype(object).where(frame[col].notna(), None)
    order = {s: i for i, s in enumerate(reversed(PIPELINE))}
    frame = frame.assign(_o=frame["stage"].map(order)).sort_values(["stalled", "unit", "_o", "days_in_stage"], ascending=[False, True, True, False])
    return frame[LIST_COLUMNS].reset_index(drop=True)


def projects_behind(dep, store, indicator: str, unit: str, period_code: int, as_of=None) -> list[str]:
    """The projects a derived count or sum adds up for one unit and month (``explain``), one line each."""
    if indicator not in BEHIND_COUNT:
        return []
    from collectors.projects import events

    config = load_project_config(dep.root)
    projects = read_projects(dep, store, as_of)
    if projects.empty:
        return []
    source = "project_investment_completed" if indicator == "project_completion_rate" else indicator
    facts = events(projects[projects["unit"] == unit], config)
    period = periods.Period.from_code(period_code)
    facts = facts[(facts["indicator"] == source) & (facts["period"] // 10000 == period.year) & (facts["period"] <= period.code)]
    names = projects.set_index("project")["name"]
    lines = []
    for month_only, title in ((True, "当月"), (False, "1-{}月累计".format(period.last_month))):
        chosen = facts[facts["period"] == period.code] if month_only else facts
        by_project = chosen.groupby("project")["value"].sum()
        lines.append(f"   {title}：{len(by_project)} 个项目，合计 {round(by_project.sum(), 6):g}")
        if not month_only:
            for pid, value in by_project.items():
                lines.append(f"     {pid} {names.get(pid, pid)}：{value:g}")
    if indicator == "project_completion_rate":
        plans = projects[(projects["unit"] == unit) & (projects["plan_year"] == period.year)]["annual_plan"]
        lines.append(f"   {period.year}年度计划投资：{plans.notna().sum()} 个项目，合计 {round(plans.sum(), 6):g}（完成率 = 累计完成投资 ÷ 年度计划 × 100）")
    return lines


def batch_totals(projects: pd.DataFrame) -> pd.DataFrame:
    """Per signing batch (签约批次): how many projects and their total investment (亿元)."""
    signed = projects[projects["batch"].notna()]
    return (signed.groupby("batch").agg(projects=("project", "size"), investment=("investment", "sum"))
            .assign(investment=lambda f: f["investment"].round(6)).reset_index())
