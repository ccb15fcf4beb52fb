"""`dashboards push` and the annotations `serve` posts, against a local stand-in for Grafana's HTTP API
(Grafana cannot run here; tests/dashboards/grafana_stub.py checks each payload as Grafana would)."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timezone

import pandas as pd
import pytest
from typer.testing import CliRunner

from dashboards.build import GENERATED
from exporters.service import Service
from targetwatch.cli import app
from targetwatch.grafana import ANNOTATION_TAG, TOKEN_ENV
from targetwatch.store import StagedChunk
from tests.conftest import free_port
from tests.dashboards.grafana_stub import GrafanaStub

TOKEN = "glsa_test_token_0123456789"


@pytest.fixture
def grafana():
    stub = GrafanaStub(free_port(), TOKEN).start()
    yield stub
    stub.stop()


def committed() -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(GENERATED.glob("*.json"))}


def test_push_uploads_every_committed_dashboard_into_the_folder(grafana, deployment_dir, monkeypatch):
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    result = CliRunner().invoke(app, ["dashboards", "push", "--url", grafana.url, "--config", str(deployment_dir)])
    assert result.exit_code == 0, result.output
    assert grafana.refused == []
    assert list(grafana.folders) == ["targetwatch"] and grafana.folders["targetwatch"]["title"] == "目标监测"
    boards = committed()
    assert sorted(d["dashboard"]["uid"] for d in grafana.dashboards) == sorted(boards)
    for body in grafana.dashboards:
        assert body["folderUid"] == "targetwatch" and body["overwrite"] is True
        assert body["dashboard"] == boards[body["dashboard"]["uid"]]  # byte for byte what the repository commits
    assert TOKEN not in result.output
    # A second push overwrites in place: the folder is found, not created again.
    assert CliRunner().invoke(app, ["dashboards", "push", "--url", grafana.url, "--config", str(deployment_dir)]).exit_code == 0
    assert len(grafana.folders) == 1 and len(grafana.dashboards) == 2 * len(boards)


def test_push_without_a_token_says_which_variable_to_set(grafana, deployment_dir, monkeypatch):
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    result = CliRunner().invoke(app, ["dashboards", "push", "--url", grafana.url, "--config", str(deployment_dir)])
    assert result.exit_code != 0 and TOKEN_ENV in result.output and grafana.dashboards == []


def annotation_queries() -> list[list[str]]:
    """The tag queries of the committed dashboards' Grafana annotations."""
    return [a["target"]["tags"] for b in committed().values() for a in b["annotations"]["list"]
            if a["datasource"]["type"] == "grafana"]


def test_serve_posts_data_updates_and_rule_versions_that_every_dashboard_shows(grafana, deployment, db, monkeypatch):
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    settings = deployment.settings.model_copy(update={"dashboard_url": grafana.url})
    deployment = dataclasses.replace(deployment, settings=settings)
    service = Service(deployment, db, as_of="2023-04-30")
    assert service.annotator is not None

    def land(rows, when):
        good = pd.DataFrame(rows, columns=["indicator", "unit", "period", "basis", "value"]).assign(
            row=range(2, 2 + len(rows)), sheet=None, column="D")
        db.ingest([StagedChunk(good=good)], source=f"returns-{when:%m%d}.csv", content_hash=f"h{when:%m%d}", reported_at=when)

    land([("gdp_growth", "daxiang", 20230103, "ytd", 4.1)], datetime(2023, 4, 20, tzinfo=timezone.utc))
    service.evaluate()
    assert grafana.annotations == []  # what was there at start is not news

    land([("industrial_va_growth", "daxiang", 20230505, "ytd", 6.2), ("retail_sales_growth", "daxiang", 20230505, "ytd", 7.1),
          ("industrial_va_growth", "beita", 20230505, "ytd", 5.0)], datetime(2023, 6, 14, tzinfo=timezone.utc))
    service.as_of = "2023-06-15"  # the day moved past 2023-05-01, when the May–June rules took effect
    service.evaluate()
    assert grafana.refused == []
    updates = [a for a in grafana.annotations if "数据更新" in a["tags"]]
    assert sorted((a["tags"][2], a["tags"][3]) for a in updates) == [("beita", "2023-05"), ("daxiang", "2023-05")]
    daxiang = next(a for a in updates if a["tags"][2] == "daxiang")
    assert daxiang["text"].startswith("数据更新：大祥区 2023年5月") and "（2项）" in daxiang["text"]
    versions = [a for a in grafana.annotations if "规则生效" in a["tags"]]
    assert versions and all(a["time"] == int(datetime(2023, 4, 30, 16, tzinfo=timezone.utc).timestamp() * 1000)
                            for a in versions if "dx_industrial_va_top7_no_ties" in a["tags"])
    assert any("dx_industrial_va_top7_no_ties" in a["tags"] for a in versions)
    # Every annotation carries the tag the committed dashboards query, so every dashboard shows it.
    queries = annotation_queries()
    assert len(queries) == len(committed())
    assert all(set(q) <= set(a["tags"]) for a in grafana.annotations for q in queries)
    assert all(a["tags"][0] == ANNOTATION_TAG for a in grafana.annotations)
    before = len(grafana.annotations)
    service.evaluate()
    assert len(grafana.annotations) == before  # each posted once
