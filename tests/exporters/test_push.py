"""The push to Alertmanager's API v2 follows no redirect, as the notifiers do (real HTTP servers on 127.0.0.1)."""

from __future__ import annotations

import logging

from exporters.push import AlertmanagerPusher
from tests.conftest import free_port
from tests.exporters.receivers import Receiver
from tests.exporters.verdict_fixtures import good_verdict, verdict_frame


def test_a_push_answered_with_a_302_is_not_followed_and_says_which_url_to_configure(deployment, caplog):
    elsewhere = Receiver("webhook", free_port()).start()
    alertmanager = Receiver("webhook", free_port()).start()
    try:
        alertmanager.redirect_to = elsewhere.url
        pusher = AlertmanagerPusher(f"http://127.0.0.1:{alertmanager.port}", deployment)
        with caplog.at_level(logging.ERROR, logger="targetwatch.push"):
            assert pusher.push(verdict_frame(good_verdict())) is False
        assert [path for path, *_ in alertmanager.attempts] == ["/api/v2/alerts"]  # asked once …
        assert elsewhere.attempts == []  # … and the alerts never went where the redirect pointed
        assert pusher.active == {}  # nothing is taken as delivered
        assert any("HTTP 302" in r.getMessage() and elsewhere.url in r.getMessage() and "redirects are not followed" in r.getMessage()
                   for r in caplog.records)
    finally:
        alertmanager.stop()
        elsewhere.stop()
