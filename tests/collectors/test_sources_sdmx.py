"""The SDMX source with a real SDMX-ML message.

``data/sdmx_wb_wits_tariff.xml`` is a World Bank WITS GenericData (SDMX-ML 2.1) response, as kept in the
sdmx1 project's test specimens (khaeru/sdmx-test-data, ``WB/gh-78.xml``): one annual series, REPORTER 840,
TIME_PERIOD 1989, OBS_VALUE 0. A zero is a reported value, so it must land as 0.0, not be skipped.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from collectors.layout import load_collectors
from collectors.sources import collect
from targetwatch.deployment import load_deployment
from targetwatch.errors import SourceError
from tests.collectors.schedule_helpers import write_collector

MESSAGE = Path(__file__).parent / "data" / "sdmx_wb_wits_tariff.xml"


def _deploy(deployment_dir: Path, codes: str = '{unit: {"840": 大祥区}}', file: str = "feeds/wits.xml"):
    (deployment_dir / "feeds").mkdir(exist_ok=True)
    shutil.copy(MESSAGE, deployment_dir / "feeds" / "wits.xml")
    write_collector(deployment_dir, "wits", f"""\
  source: {{kind: sdmx, file: {file}}}
  mapping:
    fields: {{unit: REPORTER, period: TIME_PERIOD, value: value}}
    fixed: {{indicator: rd_expenditure_growth}}
    codes: {codes}
""")
    dep = load_deployment(deployment_dir)
    return dep, load_collectors(dep.root)[0]


def test_a_real_sdmx_message_lands_its_observation(deployment_dir, store):
    dep, collector = _deploy(deployment_dir)
    result = collect(dep, store, collector)
    assert (result.rows, result.quarantined) == (1, 0)
    frame = store.read()
    assert frame[["indicator", "unit", "period", "basis", "value"]].values.tolist() == [
        ["rd_expenditure_growth", "daxiang", 19890112, "ytd", 0.0]]
    assert store.batches()["source"].tolist() == [str(dep.root / "feeds" / "wits.xml")]


def test_an_unmapped_sdmx_code_is_quarantined_with_its_field(deployment_dir, store):
    dep, collector = _deploy(deployment_dir, codes="{}")
    result = collect(dep, store, collector)
    assert (result.rows, result.quarantined) == (0, 1)
    assert store.quarantined()[["row", "column", "reason"]].values.tolist() == [[1, "field REPORTER", "unknown unit '840'"]]


def test_a_file_that_is_not_sdmx_is_a_source_error(deployment_dir, store):
    dep, collector = _deploy(deployment_dir)
    (dep.root / "feeds" / "wits.xml").write_text("<html>maintenance</html>", encoding="utf-8")
    with pytest.raises(SourceError, match="not a readable SDMX data message"):
        collect(dep, store, collector)
    assert len(store.batches()) == 0
