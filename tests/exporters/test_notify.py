"""Digests, state-change de-duplication across restarts, the outbox's retries, and the ledger."""

from __future__ import annotations

import logging

import pandas as pd
import pytest

from exporters.channels import Channel, NotifierConfig, Retry
from exporters.digest import build_digest
from exporters.ledger import Ledger
from exporters.notify import Notifications
from tests.conftest import free_port
from tests.exporters.receivers import Receiver
from tests.exporters.verdict_fixtures import good_verdict, verdict_frame

ROBOT_KEY = "wk-very-secret-0042"


class Clock:
    """A settable clock, so that backoff can be stepped through without sleeping."""

    def __init__(self, now: float = 1_700_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def robot():
    r = Receiver("wecom", free_port(), wecom_key=ROBOT_KEY).start()
    yield r
    r.stop()


def notifications(deployment, path, robot, clock=None, recipients=None) -> Notifications:
    config = NotifierConfig(
        channels=[Channel(id="robot", kind="wecom")],
        recipients=recipients if recipients is not None else {"*": ["robot"]},
        retry=Retry(base_seconds=30, max_seconds=600),
    )
    env = {"TARGETWATCH_WECOM_ROBOT_URL": robot.url}
    return Notifications(deployment, Ledger(path, clock=clock or Clock()), config, "http://grafana.local", secret=env.get)


def test_the_digest_lists_what_a_leader_owns_worst_first_in_chinese(deployment, verdicts):
    more = verdict_frame(
        good_verdict(unit="beita", status="at_risk", value=6.9, gap=-0.1, rank=7, message="北塔区规模工业增加值增速6.9%，接近目标。"),
        good_verdict(unit="wugang", status="late", value=None, gap=None, rank=None, message="武冈市规模工业增加值增速逾期未报（应于2023-07-14前报送）。"),
    )
    frame = pd.concat([verdicts, more], ignore_index=True)
    wu_yi = frame[frame["leader"] == "wu_yi"]
    digest = build_digest(deployment, "wu_yi", "2023-06", wu_yi, dashboard_url="http://grafana.local/d/tw-alerts/")
    assert digest.subject == "目标预警｜2023-06｜伍毅同志分管事项"
    assert digest.text == (
        "目标预警｜2023-06｜伍毅同志分管事项\n\n"
        "截至2023-07-20，您牵头的目标中落后1项，逾期未报1项，有风险1项。\n"
        "1. 【落后】规模工业增加值增速增长7%以上（大祥区）：大祥区规模工业增加值增速5.1%，低于目标7.0%，差1.9个百分点，全市排名第9。\n"
        "2. 【逾期未报】规模工业增加值增速增长7%以上（武冈市）：武冈市规模工业增加值增速逾期未报（应于2023-07-14前报送）。\n"
        "3. 【有风险】规模工业增加值增速增长7%以上（北塔区）：北塔区规模工业增加值增速6.9%，接近目标。\n\n"
        "详情：http://grafana.local/d/tw-alerts/?var-leader=wu_yi&var-period=2023-06"
    )
    assert digest.markdown.splitlines()[0] == "**目标预警｜2023-06｜伍毅同志分管事项**"
    assert digest.markdown.endswith("[查看仪表盘](http://grafana.local/d/tw-alerts/?var-leader=wu_yi&var-period=2023-06)")
    assert digest.recipient.mobile == "13800000102"


def test_one_digest_per_leader_and_nothing_twice_after_a_restart(deployment, verdicts, robot, tmp_path):
    path = tmp_path / "notify.db"
    first = notifications(deployment, path, robot)
    assert first.plan(verdicts) == 2  # wu_yi (behind) and xia_danbo (at risk); shuangqing is on track
    assert first.deliver().sent == 2
    first.ledger.close()
    restarted = notifications(deployment, path, robot)
    assert restarted.plan(verdicts) == 0
    assert restarted.deliver().sent == 0
    subjects = sorted(m["markdown"]["content"].splitlines()[0] for m in robot.received if m["msgtype"] == "markdown")
    assert subjects == ["**目标预警｜2023-06｜伍毅同志分管事项**", "**目标预警｜2023-06｜夏丹波同志分管事项**"]


def test_a_recovery_sends_one_digest_and_quiet_changes_send_none(deployment, verdicts, robot, tmp_path):
    n = notifications(deployment, tmp_path / "notify.db", robot)
    n.plan(verdicts)
    n.deliver()
    caught_up = verdicts.copy()
    caught_up.loc[0, ["status", "value", "gap"]] = ["on_track", 7.3, 0.3]
    assert n.plan(caught_up) == 1
    n.deliver()
    last = robot.received[-2]["markdown"]["content"]  # the digest, then the @mobile text
    assert "您牵头的目标已全部达标或无需预警。" in last
    assert "已改善：规模工业增加值增速增长7%以上（大祥区）。" in last
    quiet = caught_up.copy()
    quiet.loc[2, "status"] = "no_data"  # on_track → no_data is not a digest status on either side
    assert n.plan(quiet) == 0
    ledger = n.ledger.notifications()
    assert list(ledger["new_status"]) == ["behind", "at_risk", "on_track"]
    assert ledger.iloc[2][["old_status", "value", "channel", "recipient", "result"]].tolist() == ["behind", 7.3, "robot", "wu_yi", "sent"]


def test_a_receiver_that_is_down_then_fails_then_recovers_gets_exactly_one_delivery(deployment, robot, tmp_path, caplog):
    clock = Clock()
    n = notifications(deployment, tmp_path / "notify.db", robot, clock, recipients={"wu_yi": ["robot"]})
    robot.stop()  # down: connection refused
    assert n.plan(verdict_frame(good_verdict())) == 1
    with caplog.at_level(logging.WARNING, logger="targetwatch.notify"):
        assert n.deliver().failed == 1
    row = n.ledger.outbox().iloc[0]
    assert (row["result"], row["failures"], row["next_attempt_at"]) == ("pending", 1, clock.now + 30)
    assert n.deliver().failed == 0  # not due yet: nothing is hammered
    robot.start()
    robot.fail_next = 1  # up, but answering 500
    clock.now += 30
    assert n.deliver().failed == 1
    assert n.ledger.outbox().iloc[0]["next_attempt_at"] == clock.now + 60  # backoff doubled
    clock.now += 60
    assert n.deliver().sent == 1
    assert n.deliver().sent == 0
    assert [m["msgtype"] for m in robot.received] == ["markdown", "text"]  # one digest, one @mention
    row = n.ledger.outbox().iloc[0]
    assert (row["result"], row["failures"], row["parts_sent"]) == ("sent", 2, 2)
    assert n.ledger.counts()[1] == 0
    # The robot key is a secret: not in the ledger, the outbox or the logs.
    assert ROBOT_KEY not in n.ledger.notifications().to_csv() + n.ledger.outbox().to_csv() + caplog.text
    assert "HTTP 500" in caplog.text and "cannot reach" in caplog.text


def test_a_message_split_in_parts_resumes_after_the_last_part_that_arrived(deployment, robot, tmp_path):
    clock = Clock()
    n = notifications(deployment, tmp_path / "notify.db", robot, clock, recipients={"wu_yi": ["robot"]})
    n.plan(verdict_frame(good_verdict()))
    real_send = robot.check
    calls = []

    def refuse_the_second_request(path, body):
        calls.append(path)
        return (500, {}) if len(calls) == 2 else real_send(path, body)

    robot.check = refuse_the_second_request
    assert n.deliver().failed == 1
    assert n.ledger.outbox().iloc[0]["parts_sent"] == 1
    clock.now += 30
    assert n.deliver().sent == 1
    assert [m["msgtype"] for m in robot.received] == ["markdown", "text"]  # the markdown part was not resent


def test_a_leader_without_a_channel_is_recorded_not_dropped(deployment, robot, tmp_path):
    n = notifications(deployment, tmp_path / "notify.db", robot, recipients={})
    assert n.plan(verdict_frame(good_verdict())) == 0
    [row] = n.ledger.notifications().to_dict("records")
    assert row["note"] == "no channel configured for this leader in notifiers.yaml" and row["leader"] == "wu_yi"


def test_messages_waiting_in_the_outbox_survive_a_restart(deployment, robot, tmp_path):
    clock = Clock()
    path = tmp_path / "notify.db"
    before = notifications(deployment, path, robot, clock, recipients={"wu_yi": ["robot"]})
    robot.fail_next = 1
    assert before.plan(verdict_frame(good_verdict())) == 1
    assert before.deliver().failed == 1
    before.ledger.close()  # the service stops with the message still pending
    clock.now += 30
    after = notifications(deployment, path, robot, clock, recipients={"wu_yi": ["robot"]})
    assert after.plan(verdict_frame(good_verdict())) == 0
    assert after.deliver().sent == 1
    assert [m["msgtype"] for m in robot.received] == ["markdown", "text"]


def test_a_channel_secret_can_come_from_the_secrets_file(deployment_dir, robot, tmp_path, monkeypatch):
    from targetwatch.deployment import load_deployment

    monkeypatch.delenv("TARGETWATCH_WECOM_ROBOT_URL", raising=False)
    secrets = tmp_path / "secrets.env"
    secrets.write_text(f"TARGETWATCH_WECOM_ROBOT_URL={robot.url}\n", encoding="utf-8")
    settings = deployment_dir / "settings.yaml"
    settings.write_text(settings.read_text(encoding="utf-8") + f"secrets_file: {secrets}\n", encoding="utf-8")
    deployment = load_deployment(deployment_dir)
    config = NotifierConfig(channels=[Channel(id="robot", kind="wecom")], recipients={"*": ["robot"]})
    n = Notifications(deployment, Ledger(tmp_path / "notify.db"), config)  # the default secret lookup
    n.plan(verdict_frame(good_verdict()))
    assert n.deliver().sent == 1 and len(robot.received) == 2


def test_a_verdict_that_leaves_the_digest_without_reaching_the_target_is_not_called_improved(deployment, verdicts, robot, tmp_path):
    n = notifications(deployment, tmp_path / "notify.db", robot)
    n.plan(verdicts)
    n.deliver()
    withdrawn = verdicts.copy()
    withdrawn.loc[0, ["status", "value", "gap"]] = ["no_data", None, None]  # the figure was withdrawn
    assert n.plan(withdrawn) == 1
    n.deliver()
    last = robot.received[-2]["markdown"]["content"]
    assert "不再预警：规模工业增加值增速增长7%以上（大祥区），现为待报送。" in last and "已改善" not in last
