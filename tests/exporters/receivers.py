"""Local receivers that behave like the real endpoints: a WeCom robot that enforces its size limit, a
DingTalk robot that checks the signature the way DingTalk does, and a plain webhook. Each records what
arrived and can be told to answer 500 for a while, to answer late (after the sender's timeout), or to
answer with a redirect. They bind 127.0.0.1 on a free port.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    """A recording HTTP server; ``kind`` is "wecom", "dingtalk", "webhook", or "wecom_app" (the WeCom
    corp-app API Alertmanager's wechat_configs call: ``gettoken`` with the corp secret, then
    ``message/send`` with the token)."""

    def __init__(self, kind: str, port: int, dingtalk_secret: str | None = None, wecom_key: str | None = None):
        self.kind, self.port = kind, port
        self.dingtalk_secret, self.wecom_key = dingtalk_secret, wecom_key
        self.received: list[dict] = []
        self.headers: list[dict] = []
        self.requests: list[tuple[str, dict]] = []  # (path with query, body), in arrival order
        self.fail_next = 0  # answer 500 to this many requests
        self.slow_next = 0  # take this many requests, but answer each only after slow_seconds
        self.slow_seconds = 0.0
        self.redirect_to: str | None = None  # answer every request with 302 to this URL, taking nothing
        self.attempts: list[tuple[str, dict, dict]] = []  # every request (path, headers, body), taken or not
        self.server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        path = {"wecom": f"/cgi-bin/webhook/send?key={self.wecom_key}", "dingtalk": "/robot/send?access_token=tok-123"}
        return f"http://127.0.0.1:{self.port}{path.get(self.kind, '/hook')}"

    def start(self) -> "Receiver":
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.attempts.append((self.path, dict(self.headers), json.loads(body)))
                if receiver.redirect_to:
                    self.send_response(302)
                    self.send_header("Location", receiver.redirect_to)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if receiver.fail_next > 0:
                    receiver.fail_next -= 1
                    return self._answer(500, {"error": "internal"})
                status, answer = receiver.check(self.path, body)
                if status == 200 and answer.get("errcode", 0) == 0:
                    receiver.received.append(json.loads(body))
                    receiver.headers.append(dict(self.headers))
                    receiver.requests.append((self.path, json.loads(body)))
                if receiver.slow_next > 0:  # taken, but the answer comes after the sender gave up
                    receiver.slow_next -= 1
                    time.sleep(receiver.slow_seconds)
                self._answer(status, answer)

            def do_GET(self):  # what a followed redirect would turn the POST into, or WeCom's gettoken
                receiver.attempts.append((self.path, dict(self.headers), {}))
                if receiver.kind == "wecom_app" and self.path.startswith("/cgi-bin/gettoken"):
                    query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
                    if query.get("corpsecret") != [receiver.wecom_key]:
                        return self._answer(200, {"errcode": 40001, "errmsg": "invalid credential"})
                    return self._answer(200, {"errcode": 0, "errmsg": "ok", "access_token": "app-token-1", "expires_in": 7200})
                self._answer(200, {"errcode": 0, "errmsg": "ok"})

            def _answer(self, status, obj):
                data = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the sender timed out and closed
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def check(self, path: str, body: bytes) -> tuple[int, dict]:
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
        msg = json.loads(body)
        if self.kind == "wecom":
            if query.get("key") != [self.wecom_key]:
                return 200, {"errcode": 93000, "errmsg": "invalid webhook url"}
            content = msg.get("markdown", msg.get("text", {})).get("content", "")
            if len(content.encode("utf-8")) > 4096:
                return 200, {"errcode": 40058, "errmsg": "markdown.content exceed max length 4096"}
        if self.kind == "wecom_app" and query.get("access_token") != ["app-token-1"]:
            return 200, {"errcode": 40014, "errmsg": "invalid access_token"}
        if self.kind == "dingtalk":
            timestamp, sign = query.get("timestamp", [""])[0], query.get("sign", [""])[0]
            if not timestamp or abs(int(timestamp) - time.time() * 1000) > 3600_000:
                return 200, {"errcode": 310000, "errmsg": "sign not match, timestamp is invalid"}
            string = f"{timestamp}\n{self.dingtalk_secret}".encode()
            expected = base64.b64encode(hmac.new(self.dingtalk_secret.encode(), string, hashlib.sha256).digest()).decode()
            if sign != expected:  # parse_qs already URL-decoded it
                return 200, {"errcode": 310000, "errmsg": "sign not match"}
        return 200, {"errcode": 0, "errmsg": "ok"}


def send_digests_to(config, receiver: Receiver) -> None:
    """Point a deployment copy's ``notifiers.yaml`` at ``receiver``: every leader's digest goes to its ``/digest`` path."""
    (config / "notifiers.yaml").write_text(
        f'channels:\n  - {{id: digest_hook, kind: webhook, options: {{url: "{receiver.url}/digest"}}}}\nrecipients: {{"*": [digest_hook]}}\n',
        encoding="utf-8")
