"""Fixtures of the exporter tests."""

from __future__ import annotations

import pandas as pd
import pytest
from tests.exporters.verdict_fixtures import good_verdict, verdict_frame


@pytest.fixture
def verdicts() -> pd.DataFrame:
    """Three verdicts of two leaders: one behind, one at risk, one on track."""
    return verdict_frame(
        good_verdict(),
        good_verdict(rule="daxiang_retail_sales_growth", indicator="retail_sales_growth", status="at_risk",
                     value=5.8, target=6.0, gap=-0.2, rank=None, group_size=None, severity="warning",
                     leader="xia_danbo", lead_department=["daxiang_swj"],
                     message="大祥区社会消费品零售总额增速5.8%，接近目标6.0%，差0.2个百分点。"),
        good_verdict(unit="shuangqing", status="on_track", value=8.2, gap=1.2, rank=2, severity="none",
                     message="双清区规模工业增加值增速8.2%，达到目标。"),
    )
