"""`targetwatch digest preview`: exactly what a leader's digest sends on each channel, without sending it."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

import rules
from exporters.channels import Channel, NotifierConfig
from exporters.ledger import Ledger
from exporters.notify import Notifications
from exporters.verdicts import HISTORIC, historic
from targetwatch.cli import app
from targetwatch.job import run
from tests.conftest import free_port
from tests.exporters.receivers import Receiver

LEADER = "xia_xiangyang"


@pytest.fixture
def hook():
    r = Receiver("webhook", free_port()).start()
    yield r
    r.stop()


@pytest.fixture
def example_verdicts(deployment, db):
    """The example judged as of 2023-07-20, marked as serve marks them (older periods are held, not sent)."""
    run(deployment, db)
    verdicts = rules.evaluate(deployment, db, as_of="2023-07-20")
    return verdicts.assign(**{HISTORIC: np.where(historic(verdicts), "true", None)})


def test_the_preview_is_what_a_local_receiver_gets_when_the_digest_is_sent(deployment, example_verdicts, hook, tmp_path):
    config = NotifierConfig(channels=[Channel(id="hook", kind="webhook", options={"url": hook.url})], recipients={"*": ["hook"]})
    previews = Notifications(deployment, None, config, "http://grafana.local").preview(example_verdicts, LEADER)
    assert previews and all(p.channel == "hook" and p.error is None for p in previews)
    assert hook.received == []  # previewing sends nothing

    sender = Notifications(deployment, Ledger(tmp_path / "ledger.db"), config, "http://grafana.local")
    sender.plan(example_verdicts)
    assert sender.deliver().failed == 0
    got = [body for body in hook.received if body["recipient"] == LEADER]
    shown = [json.loads(json.dumps(part, ensure_ascii=False)) for p in previews for part in p.parts]
    assert got == shown
    assert len(got) == 1  # one digest per leader and cycle, naming every period that changed


def test_the_command_prints_every_channel_of_the_leader_and_sends_nothing(deployment_dir, hook):
    runner = CliRunner()
    assert runner.invoke(app, ["run", "--config", str(deployment_dir), "--format", "json"]).exit_code == 0
    # The example sends 夏向阳's digest on WeCom and e-mail (config/notifiers.yaml).
    result = runner.invoke(app, ["digest", "preview", "夏向阳", "--config", str(deployment_dir), "--period", "2023-12"])
    assert result.exit_code == 0, result.output
    assert "== 2023-12 · 渠道 leaders_wecom（wecom）→ 夏向阳" in result.stdout
    assert "== 2023-12 · 渠道 leaders_mail（email）→ 夏向阳" in result.stdout
    assert "目标预警｜2023-12｜夏向阳同志分管事项" in result.stdout
    as_json = json.loads(runner.invoke(app, ["digest", "preview", LEADER, "--config", str(deployment_dir), "--period", "2023-12",
                                             "--format", "json"]).stdout)
    assert [(p["channel"], p["kind"]) for p in as_json] == [("leaders_wecom", "wecom"), ("leaders_mail", "email")]
    assert as_json[1]["parts"][0]["to"] == "xia_xiangyang@example.gov.cn"
    notified = runner.invoke(app, ["notifications", "--config", str(deployment_dir), "--format", "json"])
    assert json.loads(notified.stdout or "[]") == []
    unknown = runner.invoke(app, ["digest", "preview", "张三", "--config", str(deployment_dir)])
    assert unknown.exit_code != 0 and "未知的牵头领导「张三」" in unknown.output
