"""A small real deployment (13 邵阳 county units, a few indicators) and a real SQLite store for rule tests."""

from __future__ import annotations

import textwrap
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from targetwatch import periods
from targetwatch.store import StagedChunk

UNITS = """
groups:
  - {id: shaoyang_counties, name: 邵阳市县市区, reference_unit: shaoyang}
  - {id: streets, name: 街道}
units:
  - {id: shaoyang, name: 邵阳市, kind: city}
  - {id: shuangqing, name: 双清区, kind: district, parent: shaoyang, groups: [shaoyang_counties]}
  - {id: daxiang, name: 大祥区, kind: district, parent: shaoyang, groups: [shaoyang_counties], owners: {leader: wu_yi}}
  - {id: beita, name: 北塔区, kind: district, parent: shaoyang, groups: [shaoyang_counties]}
  - {id: shaodong, name: 邵东市, kind: county, parent: shaoyang, groups: [shaoyang_counties]}
  - {id: wugang, name: 武冈市, kind: county, parent: shaoyang, groups: [shaoyang_counties]}
  - {id: dept, name: 区发改局, kind: department}
  - {id: longquan, name: 龙泉街道, kind: street, groups: [streets]}
  - {id: jinfeng, name: 金凤街道, kind: street, groups: [streets]}
"""
PEOPLE = """
people:
  - {id: wu_yi, name: 伍毅}
  - {id: xia_xiangyang, name: 夏向阳}
"""
INDICATORS = """
indicators:
  - {id: iva_growth, name: 规模工业增加值增速, measure: "%", kind: growth, frequency: monthly, basis: ytd, decimals: 1, deadline: {days: 15}, owners: {leader: xia_xiangyang, lead_department: [dept]}}
  - {id: gdp_growth, name: 地区生产总值增速, measure: "%", kind: growth, frequency: quarterly, basis: ytd, decimals: 1, deadline: {days: 25}}
  - {id: retail, name: 社会消费品零售总额, measure: 亿元, frequency: monthly, basis: ytd, deadline: {days: 15}}
  - {id: fiscal, name: 一般公共预算收入, measure: 万元, frequency: monthly, basis: ytd, deadline: {days: 10}}
  - {id: tax, name: 税收收入, measure: 万元, frequency: monthly, basis: ytd, deadline: {days: 10}}
  - {id: jobs, name: 城镇新增就业, measure: 人, kind: count, frequency: monthly, basis: ytd, deadline: {working_days: 5}}
  - {id: unemployment, name: 城镇登记失业率, measure: "%", kind: rate, direction: lower, frequency: quarterly, basis: period, deadline: {days: 20}}
  - {id: accidents, name: 较大及以上安全事故, measure: 起, kind: count, direction: lower, frequency: monthly, basis: period, deadline: {days: 5}}
  - {id: backlog, name: 信访积案, measure: 件, kind: count, direction: lower, frequency: monthly, basis: period, deadline: {days: 5}}
  - {id: projects, name: 新引进项目, measure: 个, kind: count, frequency: monthly, basis: ytd, deadline: {days: 10}}
"""


@pytest.fixture
def mini(tmp_path: Path) -> Path:
    """A deployment folder with registries and an empty rules/ folder; tests write rule files into it."""
    root = tmp_path / "dep"
    (root / "registry").mkdir(parents=True)
    (root / "rules").mkdir()
    (root / "registry" / "units.yaml").write_text(UNITS, encoding="utf-8")
    (root / "registry" / "people.yaml").write_text(PEOPLE, encoding="utf-8")
    (root / "registry" / "indicators.yaml").write_text(INDICATORS, encoding="utf-8")
    (root / "settings.yaml").write_text(f"sqlite_path: {tmp_path / 'store.db'}\n", encoding="utf-8")
    return root


def write_rules(root: Path, text: str, name: str = "rules.yaml") -> Path:
    path = root / "rules" / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def rule_doc(rule_id: str, spec: str, title: str = "测试规则") -> str:
    """One Rule document (with its ``---``) around an indented ``spec`` body, to append to a rules file."""
    return f"""
---
apiVersion: targetwatch/v1
kind: Rule
metadata: {{id: {rule_id}, title: {title}}}
spec:
{spec}
"""


def ingest(store, rows: list[tuple], reported: str, source: str = "test.xlsx", basis: str = "ytd"):
    """Land (indicator, unit, period, value[, basis]) rows as one batch reported on a day (Asia/Shanghai)."""
    frame = pd.DataFrame(
        [
            {"indicator": r[0], "unit": r[1], "period": periods.parse(r[2]).code, "basis": r[4] if len(r) > 4 else basis,
             "value": float(r[3]), "row": i + 2, "sheet": None, "column": "C"}
            for i, r in enumerate(rows)
        ]
    )
    when = datetime.fromisoformat(reported).replace(tzinfo=periods.TZ)
    return store.ingest([StagedChunk(frame)], source=source, content_hash=f"{source}:{reported}", reported_at=when)


@pytest.fixture
def dep(mini):
    from targetwatch.deployment import load_deployment

    return load_deployment(mini)
