"""Rules of one kind are judged together (rules.kinds.Batch): judging them together changes nothing.

The engine judges every rule of a kind in one columnar pass. Each rule below has its own settings
(op, floor, stretch, at-risk margin, overrides, allocation, decimals, direction, ties, unreported policy,
period), so that a value of one rule leaking into another's rows would show. Every rule judged alone
(a batch of one, as ``explain`` and scorecards judge) must give exactly the rows of the whole
evaluation: statuses, figures, messages, owners, element types. The data are irregular: missing
reports, a revision, equal values (ties), a zero base (NaN growth), a partial year of events.

The ranks are checked against pandas' own competition ranking, an independent computation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import rules
from rules import messages, verdict
from conftest import ingest, rule_doc, write_rules
from rules.kinds import grouped_ranks

COUNTIES = ["shuangqing", "daxiang", "beita", "shaodong", "wugang"]
RULES = [
    ("t_floor", """  indicator: iva_growth
  group: shaoyang_counties
  target: {kind: threshold, floor: 6.5, stretch: 7.5, at_risk_within: 0.5}
  overrides: {daxiang: {floor: 7.0, stretch: 8.0}}"""),
    ("t_stretch_only", """  indicator: iva_growth
  group: shaoyang_counties
  target: {kind: threshold, stretch: 6.9}"""),
    ("t_ceiling", """  indicator: unemployment
  units: [daxiang, beita, wugang]
  target: {kind: threshold, op: "<", floor: 4.5}"""),
    ("t_yoy", """  indicator: fiscal
  metric: yoy
  group: shaoyang_counties
  target: {kind: threshold, op: ">", floor: 3}"""),
    ("t_allocated", """  indicator: retail
  group: shaoyang_counties
  target: {kind: threshold, floor: 50}
  allocation: {total: 150, values: {daxiang: 80, beita: 70}}"""),
    ("d_decline", """  indicator: tax
  metric: yoy
  group: shaoyang_counties
  target: {kind: decline, floor: 1, at_risk_within: 2}"""),
    ("k_top", """  indicator: iva_growth
  group: shaoyang_counties
  target: {kind: rank, top: 2, stretch: 1, ties: fail}"""),
    ("k_not_bottom", """  indicator: iva_growth
  group: shaoyang_counties
  target: {kind: rank, not_bottom: 1, unreported: exclude}"""),
    ("k_improve", """  indicator: iva_growth
  group: shaoyang_counties
  target: {kind: rank, improve: true}"""),
    ("k_lower", """  indicator: unemployment
  group: shaoyang_counties
  target: {kind: rank, top: 3}"""),
    ("c_mean", """  indicator: iva_growth
  group: shaoyang_counties
  target: {kind: compare, reference: peer_mean, op: ">=", margin: 0.5}"""),
    ("c_city", """  indicator: iva_growth
  group: shaoyang_counties
  target: {kind: compare}"""),
    ("p_fiscal", """  indicator: fiscal
  group: shaoyang_counties
  target: {kind: pacing, annual: 1200, profile: checkpoints, checkpoints: {3: 20, 6: 45}, at_risk_within: 5}"""),
    ("p_jobs", """  indicator: jobs
  group: shaoyang_counties
  target: {kind: pacing, annual: 100, stretch: 120}"""),
    ("n_accidents", """  indicator: accidents
  group: shaoyang_counties
  target: {kind: never}"""),
    ("n_backlog", """  indicator: backlog
  group: shaoyang_counties
  target: {kind: never}"""),
    ("r_jobs", """  indicator: jobs
  group: shaoyang_counties
  target: {kind: range, min: 20, max: 60}"""),
    ("a_retail", """  indicator: retail
  group: shaoyang_counties
  target: {kind: approximate, value: 60, tolerance_pct: 10}"""),
    ("b_projects", """  indicator: projects
  group: shaoyang_counties
  target: {kind: break_zero}"""),
    ("m_projects", """  indicator: projects
  group: shaoyang_counties
  target: {kind: milestone, value: 3, by: 2023-12-31}"""),
    ("z_backlog", """  indicator: backlog
  group: shaoyang_counties
  target: {kind: clear_zero}"""),
    ("s_tax", """  indicator: tax
  group: shaoyang_counties
  target: {kind: share, of: {indicator: fiscal}, floor: 70}"""),
    ("s_parent", """  indicator: fiscal
  group: shaoyang_counties
  target: {kind: share, of: {unit: parent}, floor: 15, stretch: 25}"""),
    ("x_city", """  indicator: fiscal
  units: [shaoyang]
  target: {kind: consistency, children_group: shaoyang_counties, tolerance_pct: 1}"""),
]


def _figures(store) -> None:
    """Two years of irregular reports: gaps, a tie, a zero base, a revision, events in some months."""
    rng = np.random.default_rng(15)
    rows = []
    for year in (2022, 2023):
        for month in range(1, 13):
            p = f"{year}-{month:02d}"
            for i, unit in enumerate(COUNTIES):
                if (year, month, unit) in {(2023, 6, "wugang"), (2023, 5, "beita")}:
                    continue  # never reported
                growth = 7.0 if unit in ("daxiang", "beita") else float(np.round(rng.normal(6.5, 1.0), 1))  # a tie
                rows.append(("iva_growth", unit, p, growth))
                fiscal = 0.0 if (year, unit) == (2022, "shaodong") else float(np.round(rng.uniform(8, 12) * month * (10 + i), 1))
                rows.append(("fiscal", unit, p, fiscal))  # shaodong: a zero base for 2023's growth
                rows.append(("tax", unit, p, float(np.round(fiscal * rng.uniform(0.6, 0.9), 1))))
                rows.append(("retail", unit, p, float(np.round(rng.uniform(4, 6) * month, 2))))
                rows.append(("jobs", unit, p, float(rng.integers(2, 8) * month)))
                rows.append(("projects", unit, p, float(0 if unit == "wugang" else rng.integers(0, 2) * month // 3)))
                rows.append(("accidents", unit, p, float(rng.random() < 0.05), "period"))
                rows.append(("backlog", unit, p, float(rng.integers(0, 2)), "period"))
                if month % 3 == 0 and unit != "shaodong":
                    rows.append(("unemployment", unit, f"{year}-Q{month // 3}", float(np.round(rng.uniform(3.5, 5), 1)), "period"))
            rows.append(("fiscal", "shaoyang", p, float(np.round(rng.uniform(400, 500) * month, 1))))
            rows.append(("iva_growth", "shaoyang", p, 6.8))
    ingest(store, [r for r in rows if len(r) == 4], "2024-01-05", source="ytd.xlsx")
    ingest(store, [r for r in rows if len(r) == 5], "2024-01-05", source="period.xlsx", basis="period")
    ingest(store, [("iva_growth", "shuangqing", "2023-06", 6.95)], "2024-01-06", source="revision.xlsx")  # a revision


@pytest.fixture
def irregular(mini, dep, store):
    write_rules(mini, "".join(rule_doc(rule_id, spec) for rule_id, spec in RULES))
    _figures(store)
    ruleset = rules.load_rules(mini, dep)
    assert sorted(ruleset.ids) == sorted(r for r, _ in RULES), "every rule of the test must load"
    return dep, store, ruleset


@pytest.mark.parametrize("as_of,period", [("2024-01-20", "2023-06"), ("2024-01-20", "all"), ("2023-07-12", None)])
def test_each_rule_judged_alone_gives_the_rows_of_every_rule_judged_together(irregular, as_of, period):
    dep, store, ruleset = irregular
    ids = list(ruleset.ids)
    together = rules.evaluate(dep, store, as_of=as_of, period=period, ruleset=ruleset, rules=ids)
    alone = pd.concat([rules.evaluate(dep, store, as_of=as_of, period=period, ruleset=ruleset, rules=[i]) for i in ids],
                      ignore_index=True)
    assert together["rule"].nunique() >= 20  # most rules have a period to judge at each as-of
    pd.testing.assert_frame_equal(together, alone, check_exact=True)
    for column in together.columns[together.dtypes == object]:
        assert [type(x) for x in together[column]] == [type(x) for x in alone[column]], column


def test_the_irregular_data_reach_what_the_batch_must_keep_apart(irregular):
    """The comparison above means something only if the rules disagree among themselves."""
    dep, store, ruleset = irregular
    v = rules.evaluate(dep, store, as_of="2024-01-20", period="2023-06", ruleset=ruleset, rules=list(ruleset.ids))
    assert {"on_track", "behind", "late", "at_risk", "no_data"} <= set(v["status"])
    ranks = v[v["rule"] == "k_top"].set_index("unit")
    assert ranks.loc["daxiang", "rank"] == ranks.loc["beita", "rank"]  # a tie, failed by ties: fail
    assert ranks.loc["daxiang", "status"] != "on_track" or ranks.loc["daxiang", "rank"] > 2
    assert v.loc[(v["rule"] == "t_yoy") & (v["unit"] == "shaodong"), "status"].item() == "no_data"  # zero base
    assert v.loc[(v["rule"] == "t_floor") & (v["unit"] == "daxiang"), "target"].item() == 7.0  # its override only
    assert v.loc[(v["rule"] == "t_floor") & (v["unit"] == "beita"), "target"].item() == 6.5
    assert v.loc[(v["rule"] == "t_stretch_only"), "tier"].eq("stretch").all()


@pytest.mark.parametrize("seed", range(5))
def test_grouped_ranks_agree_with_pandas_competition_ranks(seed):
    """Ranks of many groups at once against pandas' rank(method="min") group by group: ties (also float
    noise below 1e-9 and -0.0 against 0.0), missing values, both directions."""
    rng = np.random.default_rng(seed)
    n = 400
    group = rng.integers(0, 12, n)
    values = np.round(rng.normal(0, 2, n), 1)
    values[rng.random(n) < 0.1] = np.nan
    values[rng.random(n) < 0.05] = -0.0
    values[rng.random(n) < 0.05] = 0.0
    noisy = rng.random(n) < 0.1
    values[noisy] = values[noisy] + 1e-12
    ascending = (group % 2 == 0)
    ranks, tied = grouped_ranks(group, values, ascending)
    for g in np.unique(group):
        at = group == g
        s = pd.Series(values[at]).round(9)
        expected = s.rank(method="min", ascending=bool(ascending[at][0]))
        np.testing.assert_array_equal(ranks[at], expected.to_numpy())
        shared = s.duplicated(keep=False) & s.notna()
        np.testing.assert_array_equal(tied[at], shared.to_numpy())


@pytest.mark.parametrize("as_of,period", [("2024-01-20", "2023-06"), ("2024-01-20", "all"), ("2023-07-12", None)])
def test_the_frame_made_in_the_contract_dtypes_is_what_conform_gives(irregular, monkeypatch, as_of, period):
    """The engine makes the verdict frame of its judgements in the contract's dtypes at once (verdict.as_frame
    with ``conformed``, from coded columns) instead of conforming it afterwards: the same frame, bit for bit."""
    dep, store, ruleset = irregular
    made = []
    as_frame = verdict.as_frame

    def keep(parts, rows_at=None, conformed=False):  # a spy: the engine's own call, kept and answered as is
        made.append((parts, rows_at, conformed))
        return as_frame(parts, rows_at, conformed)

    monkeypatch.setattr(verdict, "as_frame", keep)
    v = rules.evaluate(dep, store, as_of=as_of, period=period, ruleset=ruleset, rules=list(ruleset.ids))
    parts, rows_at, conformed = made[0]
    assert conformed and any(isinstance(column, verdict.Coded) for column in parts[0].values())
    direct, afterwards = as_frame(parts, rows_at, conformed=True), verdict.conform(as_frame(parts, rows_at))
    pd.testing.assert_frame_equal(direct, afterwards, check_exact=True)
    pd.testing.assert_frame_equal(v, verdict.conform(v.copy()), check_exact=True)  # conform finds nothing to change
    for column in direct.columns[direct.dtypes == object]:
        assert [type(x) for x in direct[column]] == [type(x) for x in afterwards[column]], column
    # a rule without a peer group has None, never NaN; stretch_met is True, False or None
    assert set(direct["group"].map(type)) == {str, type(None)} and set(direct["stretch_met"].map(repr)) <= {"None", "True", "False"}


def test_coded_columns_keep_none_and_decide_per_distinct_combination():
    owners = [{"leader": "li", "lead_department": ["fgw"]}, {"leader": None, "lead_department": []}]
    rows = verdict.rows(rule="r", unit=["a", "b", "c"], indicator="i", period="2023-06", as_of="2023-07-20",
                        status=["behind", "behind", "late"], owners=[owners[0], owners[1], owners[0]], message=["x", "y", "z"],
                        rule_title="t", group=None, measure="%", target_version="v1", deadline=None,
                        severity=verdict.Coded(["warning", None], [0, 1, 1]), tier=["floor", "data", "floor"])
    frame = verdict.as_frame([rows], conformed=True)
    assert frame["severity"].tolist() == ["warning", "warning", "warning"]  # the override, the data tier, late
    assert frame["leader"].tolist() == ["li", None, "li"] and frame["audience"].tolist() == ["leader", "contacts", "leader"]
    assert frame["lead_department"].tolist() == ["fgw", None, "fgw"] and frame["owners"][0] is frame["owners"][2]
    assert frame["group"].tolist() == [None] * 3 and frame["rank"].dtype == "Int64"
    pd.testing.assert_frame_equal(frame, verdict.conform(verdict.as_frame([rows])), check_exact=True)


def test_messages_format_per_row_decimals_as_each_precision_alone():
    values = np.array([6.25, 1.0, np.nan, 0.04, -0.0, 12.5, 3.333])
    decimals = np.array([1, 0, 1, 1, 2, 0, 2])
    text = messages.fmt_rows(values, decimals).to_pylist()
    assert text == [str(messages.fmt(np.array([v]), d)[0]) for v, d in zip(values, decimals)]
    assert text == ["6.2", "1", "", "0", "0", "12", "3.33"]
