"""Proof on the real city panel: every province, every year 2000–2023, the engine agrees with pandas.

The panel (../shared/data/cn_prefecture_city_panel_1990_2023.csv, 300 cities in 31 provinces) goes through
the CSV collector into a real SQLite store. Each province is a peer group of its cities. For every
province there are seven rules: a growth floor, above the mean of the cities that reported, top 3 with
ties, not in the bottom 2, 进位 on the year before, and a floor and a top 3 on growth derived from nominal
GDP levels. One ``evaluate(period="all")`` judges them for every year, and every verdict is compared with
an independent computation written here in plain pandas: ranks by the minimum method among the cities
that reported, derived growth at full precision, silent cities ranked below every reporter for bottom-N
(the default after the deadline), a city that did not report is ``late``, and 进位 without last year's
rank is ``no_data``.
"""

from __future__ import annotations

import textwrap
from datetime import date, datetime, timezone

import numpy as np
import pandas as pd
import pytest

import rules
from collectors.ingest import ingest_file
from targetwatch.deployment import load_deployment
from targetwatch.store.sqlite import SQLiteStore
from tests.conftest import shared_data

PANEL = "cn_prefecture_city_panel_1990_2023.csv"
YEARS = range(2000, 2024)
GROWTH_FLOOR, DERIVED_FLOOR, TOP, NOT_BOTTOM = 8.0, 10.0, 3, 2

KINDS = {
    "floor": ("gdp_growth", "value", f'{{kind: threshold, op: ">=", floor: {GROWTH_FLOOR}}}'),
    "above_mean": ("gdp_growth", "value", '{kind: compare, reference: peer_mean, op: ">"}'),
    "top": ("gdp_growth", "value", f"{{kind: rank, top: {TOP}}}"),
    "not_bottom": ("gdp_growth", "value", f"{{kind: rank, not_bottom: {NOT_BOTTOM}}}"),
    "improve": ("gdp_growth", "value", "{kind: rank, improve: true}"),
    "derived_floor": ("gdp", "yoy", f'{{kind: threshold, op: ">=", floor: {DERIVED_FLOOR}}}'),
    "derived_top": ("gdp", "yoy", f"{{kind: rank, top: {TOP}}}"),
}


def _read_panel() -> pd.DataFrame:
    raw = pd.read_csv(shared_data(PANEL), encoding="utf-8-sig", usecols=["year", "province", "city", "prov_code", "city_code", "gdp", "gdp_growth"])
    raw["unit"] = "c" + raw["city_code"].astype(str)
    raw["group"] = "p" + raw["prov_code"].astype(str)
    return raw


@pytest.fixture(scope="module")
def panel_verdicts(tmp_path_factory):
    raw = _read_panel()
    root = tmp_path_factory.mktemp("panel_proof")
    for sub in ("registry", "collectors", "rules"):
        (root / sub).mkdir()
    cities = raw.drop_duplicates("unit")
    provinces = raw.drop_duplicates("group")
    groups = "\n".join(f"  - {{id: {g}, name: {p}}}" for g, p in zip(provinces["group"], provinces["province"]))
    units = "\n".join(f"  - {{id: {u}, name: {c}, kind: city, groups: [{g}]}}" for u, c, g in zip(cities["unit"], cities["city"], cities["group"]))
    (root / "registry" / "units.yaml").write_text(f"groups:\n{groups}\nunits:\n{units}\n", encoding="utf-8")
    (root / "registry" / "indicators.yaml").write_text(textwrap.dedent("""
        indicators:
          - {id: gdp, name: 地区生产总值, measure: 万元, frequency: yearly, decimals: 0}
          - {id: gdp_growth, name: 地区生产总值增速, measure: "%", kind: growth, growth_of: gdp, frequency: yearly, decimals: 1}
        """), encoding="utf-8")
    (root / "collectors" / "panel.yaml").write_text(textwrap.dedent(f"""
        apiVersion: targetwatch/v1
        kind: Collector
        metadata: {{name: city-panel, title: 地级市面板}}
        spec:
          files: ["{PANEL}"]
          sheets:
            - shape: wide
              unit_column: city
              period: {{from: column, column: year}}
              columns:
                - {{header: gdp_growth, indicator: gdp_growth}}
                - {{header: gdp, indicator: gdp, measure: 万元}}
        """), encoding="utf-8")
    docs = []
    for group in provinces["group"]:
        for kind, (indicator, metric, target) in KINDS.items():
            docs.append(textwrap.dedent(f"""\
                ---
                apiVersion: targetwatch/v1
                kind: Rule
                metadata: {{id: {kind}_{group}, title: {kind}}}
                spec:
                  indicator: {indicator}
                  metric: {metric}
                  group: {group}
                  period: {{from: "2000", to: "2023", frequency: yearly}}
                  target: {target}
                """))
    (root / "rules" / "panel.yaml").write_text("".join(docs), encoding="utf-8")
    (root / "settings.yaml").write_text(f"sqlite_path: {root / 'store.db'}\n", encoding="utf-8")
    dep = load_deployment(root)
    store = SQLiteStore(root / "store.db")
    try:
        result = ingest_file(dep, store, shared_data(PANEL), reported_at=datetime(2024, 12, 31, tzinfo=timezone.utc))
        assert result.ok and result.batch.quarantined == 0, (result.error, result.reasons)
        verdicts = rules.evaluate(dep, store, as_of=date(2025, 6, 30), period="all")
    finally:
        store.close()
    verdicts["kind"] = verdicts["rule"].str.rsplit("_p", n=1).str[0]
    verdicts["year"] = verdicts["period"].astype(int)
    return raw, verdicts


def _expected(raw: pd.DataFrame) -> pd.DataFrame:
    """Every (kind, unit, year) status, in plain pandas, independently of the engine."""
    members = raw.drop_duplicates("unit")[["unit", "group"]]
    grid = members.merge(pd.DataFrame({"year": list(YEARS)}), how="cross")
    data = raw[["unit", "year", "gdp", "gdp_growth"]]
    last = data.assign(year=data["year"] + 1).rename(columns={"gdp": "gdp_last", "gdp_growth": "growth_last"})
    frame = grid.merge(data, on=["unit", "year"], how="left").merge(last, on=["unit", "year"], how="left")
    frame["derived"] = (frame["gdp"] / frame["gdp_last"].where(frame["gdp_last"] != 0) - 1.0) * 100.0
    by = frame.groupby(["group", "year"])
    frame["rank"] = by["gdp_growth"].rank(ascending=False, method="min")
    frame["rank_last"] = frame.groupby(["group", "year"])["growth_last"].rank(ascending=False, method="min")
    frame["derived_rank"] = by["derived"].rank(ascending=False, method="min")
    frame["mean"] = by["gdp_growth"].transform("mean")
    frame["size"] = by["unit"].transform("size")
    growth_known = frame["gdp_growth"].notna()

    def status(met: pd.Series, known: pd.Series, decidable: pd.Series | None = None) -> pd.Series:
        out = np.where(met, "on_track", "behind")
        if decidable is not None:
            out = np.where(decidable, out, "no_data")
        return pd.Series(np.where(known, out, "late"), index=frame.index)

    # the rank of last year among the cities that reported both years is not what 进位 means: last year's
    # rank is the rank among last year's reporters, so it is computed from the previous year's own table
    prev = frame[["unit", "year", "rank"]].assign(year=frame["year"] + 1).rename(columns={"rank": "prev_rank"})
    prev_rank = frame[["unit", "year"]].merge(prev, on=["unit", "year"], how="left")["prev_rank"]
    # 1999's ranks (for 2000) come from the panel's 1999 rows
    y1999 = raw[raw["year"] == 1999].copy()
    y1999["rank"] = y1999.groupby("group")["gdp_growth"].rank(ascending=False, method="min")
    first = frame["year"] == 2000
    prev_rank[first] = frame.loc[first, "unit"].map(y1999.set_index("unit")["rank"]).to_numpy()
    improve_target = np.where(prev_rank == 1, 1.0, prev_rank - 1)

    kinds = {
        "floor": status(frame["gdp_growth"] >= GROWTH_FLOOR, growth_known),
        "above_mean": status(frame["gdp_growth"] > frame["mean"], growth_known),
        "top": status(frame["rank"] <= TOP, growth_known),
        "not_bottom": status(frame["rank"] <= frame["size"] - NOT_BOTTOM, growth_known),
        "improve": status(frame["rank"] <= improve_target, growth_known, prev_rank.notna()),
        "derived_floor": status(frame["derived"] >= DERIVED_FLOOR, frame["gdp"].notna(), frame["derived"].notna()),
        "derived_top": status(frame["derived_rank"] <= TOP, frame["gdp"].notna(), frame["derived"].notna()),
    }
    out = [frame[["unit", "year"]].assign(kind=k, expected=s.to_numpy(),
                                          expected_rank=(frame["derived_rank"] if k == "derived_top" else frame["rank"]).to_numpy())
           for k, s in kinds.items()]
    return pd.concat(out, ignore_index=True)


def test_every_verdict_of_every_province_and_year_agrees_with_pandas(panel_verdicts):
    raw, verdicts = panel_verdicts
    expected = _expected(raw)
    assert len(verdicts) == len(expected) == 300 * len(YEARS) * len(KINDS)
    both = expected.merge(verdicts[["kind", "unit", "year", "status", "rank"]], on=["kind", "unit", "year"], how="left")
    wrong = both[both["status"] != both["expected"]]
    assert wrong.empty, wrong.head(20).to_string()
    ranked = both[both["kind"].isin(["top", "not_bottom", "improve", "derived_top"]) & both["expected_rank"].notna()]
    assert (ranked["rank"].astype(float).to_numpy() == ranked["expected_rank"].to_numpy()).all()
    # the mix is real: every kind has cities on track and behind
    counts = both.groupby(["kind", "expected"]).size().unstack(fill_value=0)
    assert (counts["on_track"] > 0).all() and (counts["behind"] > 0).all()


def test_derived_growth_is_ranked_unrounded_and_shown_at_one_decimal(panel_verdicts):
    raw, verdicts = panel_verdicts
    derived = verdicts[(verdicts["kind"] == "derived_top") & verdicts["value"].notna()]
    # GDP is shown in whole 万元 (decimals 0), yet growth keeps its decimals and no two cities tie by rounding
    assert (derived["value"] != derived["value"].round(0)).mean() > 0.9
    ties = derived.groupby(["group", "year"])["rank"].apply(lambda r: r.duplicated().sum()).sum()
    assert ties == 0
    row = derived.iloc[0]
    assert f"{row['value']:.1f}%" in row["message"] or f"{round(row['value'], 1):g}%" in row["message"]


def test_the_silent_cities_fill_the_bottom_places(panel_verdicts):
    raw, verdicts = panel_verdicts
    nb = verdicts[verdicts["kind"] == "not_bottom"]
    incomplete = nb[nb["reported"] < nb["group_size"]]
    assert len(incomplete) > 0
    late = incomplete[incomplete["status"] == "late"]
    assert len(late) > 0 and late["rank"].isna().all()
    reporters = incomplete[incomplete["status"] != "late"]
    assert reporters["message"].str.contains("未报送单位按末位计").all()
