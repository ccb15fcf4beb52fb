"""A local stand-in for the part of Grafana's HTTP API that targetwatch calls (Grafana itself cannot run
here): folders, ``POST /api/dashboards/db`` and ``POST /api/annotations``. It checks the bearer token and
the shape Grafana requires of each payload, answers as Grafana does, and records what arrived.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class GrafanaStub:
    def __init__(self, port: int, token: str):
        self.port, self.token = port, token
        self.folders: dict[str, dict] = {}
        self.dashboards: list[dict] = []
        self.annotations: list[dict] = []
        self.refused: list[tuple[str, int, str]] = []
        self.server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "GrafanaStub":
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self, status: int, obj) -> None:
                data = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _authorised(self) -> bool:
                if self.headers.get("Authorization") != f"Bearer {stub.token}":
                    stub.refused.append((self.path, 401, "bad token"))
                    self._answer(401, {"message": "Unauthorized"})
                    return False
                return True

            def do_GET(self):
                if not self._authorised():
                    return
                if self.path.startswith("/api/folders/"):
                    uid = self.path.rsplit("/", 1)[1]
                    if uid in stub.folders:
                        return self._answer(200, stub.folders[uid])
                    return self._answer(404, {"message": "folder not found"})
                self._answer(404, {"message": "not found"})

            def do_POST(self):
                if not self._authorised():
                    return
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                problem = stub.check(self.path, body)
                if problem:
                    stub.refused.append((self.path, 400, problem))
                    return self._answer(400, {"message": problem})
                if self.path == "/api/folders":
                    folder = {"uid": body["uid"], "title": body["title"], "id": len(stub.folders) + 1}
                    stub.folders[body["uid"]] = folder
                    return self._answer(200, folder)
                if self.path == "/api/dashboards/db":
                    stub.dashboards.append(body)
                    uid = body["dashboard"]["uid"]
                    return self._answer(200, {"status": "success", "uid": uid, "url": f"/d/{uid}/", "version": 1})
                if self.path == "/api/annotations":
                    stub.annotations.append(body)
                    return self._answer(200, {"id": len(stub.annotations), "message": "Annotation added"})
                self._answer(404, {"message": "not found"})

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def check(self, path: str, body: dict) -> str | None:
        """What Grafana would refuse in a payload (None: accepted)."""
        if path == "/api/folders":
            return None if body.get("title") and body.get("uid") else "folder needs title and uid"
        if path == "/api/dashboards/db":
            board = body.get("dashboard") or {}
            if not board.get("uid") or not board.get("title"):
                return "dashboard needs uid and title"
            if body.get("folderUid") not in self.folders:
                return f"folder {body.get('folderUid')!r} not found"
            return None
        if path == "/api/annotations":
            if not isinstance(body.get("time"), int) or not isinstance(body.get("text"), str) or not body["text"]:
                return "annotation needs an integer time (ms) and a text"
            if not all(isinstance(t, str) for t in body.get("tags", [])):
                return "tags must be strings"
            return None
        return None

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
