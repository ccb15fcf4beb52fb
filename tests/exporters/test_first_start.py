"""The first `targetwatch serve` on the example deployment starts without a flood.

The example's own notifiers.yaml, with its WeCom and DingTalk robots, SMTP relay and 督查室 webhook
pointed at local receivers. Judged as of 2025-12-20 the example has three years of history (2023's
periods, 2025-09 …) and a current reporting period per frequency: only the current periods are sent,
at most one digest per leader on each of their channels, and the ledger says why every other verdict
that is behind, late or at risk was not sent.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections import Counter

import pandas as pd
import pytest

import rules
from collectors.ingest import due_files, ingest
from exporters.ledger import ledger_path
from exporters.verdicts import DIGEST_STATUSES, historic
from targetwatch.deployment import load_deployment
from targetwatch.store.sqlite import SQLiteStore
from tests.conftest import ROOT, free_port, stop, wait_http, wait_until
from tests.exporters.receivers import Receiver
from tests.exporters.test_notifiers import smtp_server  # noqa: F401  (aiosmtpd with STARTTLS and AUTH)

pytestmark = pytest.mark.services
AS_OF = "2025-12-20"
DINGTALK_SECRET = "SEC-first-start"


def test_the_first_serve_sends_at_most_one_digest_per_leader_and_explains_the_rest(deployment_dir, tmp_path, smtp_server):
    smtp_port, ca, mails = smtp_server
    wecom = Receiver("wecom", free_port(), wecom_key="wk-first").start()
    dingtalk = Receiver("dingtalk", free_port(), dingtalk_secret=DINGTALK_SECRET).start()
    duty = Receiver("webhook", free_port()).start()
    notifiers = deployment_dir / "notifiers.yaml"
    text = notifiers.read_text(encoding="utf-8")
    for old, new in (("host: smtp.example.gov.cn, port: 587,", f"host: 127.0.0.1, port: {smtp_port}, ca_file: {ca},"),
                     ('"https://duty.example.gov.cn/targetwatch/digest"', f'"{duty.url}"')):
        assert old in text
        text = text.replace(old, new)
    notifiers.write_text(text, encoding="utf-8")
    dep = load_deployment(deployment_dir)
    store = SQLiteStore(dep.settings.sqlite_path)
    ingest(dep, store, due_files(dep))
    expected = rules.evaluate(dep, store, as_of=AS_OF)
    store.close()
    old = historic(expected)
    assert old.sum() > 100 and (~old).sum() > 10  # history to hold back, and a current period to send

    port = free_port()
    env = {**os.environ, "TARGETWATCH_LOG_LEVEL": "INFO", "TARGETWATCH_WECOM_ROBOT_URL": wecom.url,
           "TARGETWATCH_DINGTALK_ROBOT_URL": dingtalk.url, "TARGETWATCH_DINGTALK_SECRET": DINGTALK_SECRET,
           "TARGETWATCH_SMTP_PASSWORD": "pw-s3cret", "TARGETWATCH_WEBHOOK_TOKEN": "duty-token"}
    log = tmp_path / "serve.log"
    serve = subprocess.Popen([sys.executable, "-c", "from targetwatch.cli import app; app()", "serve", "--config", str(deployment_dir),
                              "--port", str(port), "--as-of", AS_OF, "--interval", "3600", "--no-collect"],
                             cwd=ROOT, stdout=subprocess.DEVNULL, stderr=open(log, "w"), env=env)
    try:
        wait_http(f"http://127.0.0.1:{port}/-/healthy", timeout=30)
        wait_until(lambda: "evaluated" in log.read_text(encoding="utf-8"), 60, "the first cycle")
        db = ledger_path(dep.settings)

        def outbox() -> pd.DataFrame:
            with sqlite3.connect(db) as con:
                return pd.read_sql_query("SELECT * FROM outbox", con)

        wait_until(lambda: len(o := outbox()) and (o["result"] == "sent").all(), 60, "every queued digest delivered")
        with sqlite3.connect(db) as con:
            decisions = pd.read_sql_query("SELECT d.*, o.result FROM decision d LEFT JOIN outbox o ON o.id = d.outbox_id", con)
    finally:
        stop(serve)
        for r in (wecom, dingtalk, duty):
            r.stop()

    # Counted at the receivers: per channel, at most one message per person (a leader's digest, or a
    # contact's late-report reminder). As of 2025-12-20 four leaders hear of 2025-11 (and one of 2025-Q3
    # too, in the same digest) instead of one digest per leader and period back to 2023.
    counted = {
        "wecom": Counter(m["markdown"]["content"].splitlines()[0] for m in wecom.received if m["msgtype"] == "markdown"
                         and not m["markdown"]["content"].startswith("(")),
        "dingtalk": Counter(m["markdown"]["title"] for m in dingtalk.received),
        "email": Counter((tuple(to), mail["Subject"]) for to, mail in mails),
        "webhook": Counter(b["recipient"] for b in duty.received),
    }
    assert sum(sum(c.values()) for c in counted.values()) == len(outbox_rows := decisions.dropna(subset=["outbox_id"])["outbox_id"].unique())
    for channel, counts in counted.items():
        assert all(n == 1 for n in counts.values()), (channel, counts)
    leaders_sent = set(decisions.dropna(subset=["outbox_id"])["leader"])
    assert 1 <= len(leaders_sent) and len(outbox_rows) <= 4 * len(leaders_sent)  # each leader has at most the example's channels
    assert all("2023" not in s for (_, s) in counted["email"])

    # The ledger explains every verdict behind, late or at risk: sent, or why not.
    alerting = expected[expected["status"].isin(DIGEST_STATUSES)]
    key = ["rule", "unit", "indicator", "period"]
    explained = alerting[key].merge(decisions, on=key, how="left")
    assert explained["id"].notna().all(), "a verdict the ledger says nothing about"
    unsent = explained[explained["outbox_id"].isna()]
    # The example's history (issue 10: every indicator supplied, few late): a few dozen changes to hold back.
    assert unsent["note"].notna().all() and len(unsent) >= 20
    assert (explained.dropna(subset=["outbox_id"])["result"] == "sent").all()
    held = unsent[unsent["kind"] == "backfilled"]
    held_periods = set(held["period"])
    assert held_periods and not held_periods & set(expected.loc[~old, "period"])
    assert set(unsent["kind"]) <= {"backfilled", "digest"} and unsent.loc[unsent["kind"] == "digest", "note"].str.startswith("no ").all()
