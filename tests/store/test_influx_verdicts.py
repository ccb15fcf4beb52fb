"""Verdict write-back (exporters/influx.py), for real against VictoriaMetrics' ``/api/v2/write``."""

from __future__ import annotations

import pandas as pd
from tests.store.test_influx_write import FAST, VictoriaMetrics, vm  # noqa: F401  (the fixture)

from exporters.influx import verdict_lines, write_verdicts
from rules.verdict import conform

AS_OF_MS = 1690819199000  # 2023-07-31 23:59:59 Asia/Shanghai


def verdicts() -> pd.DataFrame:
    return conform(pd.DataFrame([
        dict(rule="gdp_floor", unit="daxiang", indicator="gdp_growth", period="2023-06", as_of="2023-07-31",
             status="behind", value=4.1, target=5.5, gap=-1.4, rank=9, group_size=12, leader="xia_xiangyang",
             lead_department="daxiang_fgj", severity="critical", message="低于目标 1.4 个百分点", stretch_met=False),
        dict(rule="gdp_floor", unit="beita", indicator="gdp_growth", period="2023-06", as_of="2023-07-31", status="no_data"),
    ]))


def test_each_verdict_is_one_point_and_missing_numbers_are_left_out():
    assert verdict_lines(verdicts()) == [
        "verdict,rule=gdp_floor,unit=daxiang,indicator=gdp_growth,period=2023-06,leader=xia_xiangyang,"
        "lead_department=daxiang_fgj,severity=critical value=4.1,target=5.5,gap=-1.4,rank=9i,group_size=12i,"
        'status_code=0i,stretch_met=0i,status="behind",message="低于目标 1.4 个百分点" 1690819199000000000',
        'verdict,rule=gdp_floor,unit=beita,indicator=gdp_growth,period=2023-06 status_code=3i,status="no_data" 1690819199000000000',
    ]
    assert verdict_lines(conform(pd.DataFrame())) == []


def test_verdicts_arrive_in_victoriametrics(vm, tmp_path):  # noqa: F811
    written, pending = write_verdicts(verdicts(), url=vm.url, org="o", bucket="v", token=None, spool_dir=tmp_path, policy=FAST)
    assert (written, pending) == (2, 0)
    daxiang = (("indicator", "gdp_growth"), ("lead_department", "daxiang_fgj"), ("leader", "xia_xiangyang"),
               ("period", "2023-06"), ("rule", "gdp_floor"), ("severity", "critical"), ("unit", "daxiang"))
    beita = (("indicator", "gdp_growth"), ("period", "2023-06"), ("rule", "gdp_floor"), ("unit", "beita"))
    assert vm.export("verdict_gap") == {daxiang: [(AS_OF_MS, -1.4)]}
    assert vm.export("verdict_rank") == {daxiang: [(AS_OF_MS, 9)]}
    assert vm.export("verdict_status_code") == {daxiang: [(AS_OF_MS, 0)], beita: [(AS_OF_MS, 3)]}


def test_verdicts_wait_on_disk_while_influxdb_is_down(tmp_path):
    server = VictoriaMetrics(tmp_path / "vm")
    assert write_verdicts(verdicts(), url=server.url, org="o", bucket="v", token=None, spool_dir=tmp_path, policy=FAST) == (0, 2)
    server.start()
    try:
        empty = conform(pd.DataFrame())
        assert write_verdicts(empty, url=server.url, org="o", bucket="v", token=None, spool_dir=tmp_path, policy=FAST) == (2, 0)
        assert len(server.export("verdict_status_code")) == 2
    finally:
        server.stop()
