"""A real headless Chromium (Debian's ``chromium``) driven over the DevTools protocol: open a page,
evaluate script, ask which platform fonts drew a node's text, take a screenshot. Stopped by PID."""

from __future__ import annotations

import base64
import json
import subprocess
import urllib.request
from itertools import count
from pathlib import Path

import websocket

from exporters.bulletin.pdf import headless_args
from tests.conftest import require_binary, stop, wait_until


class Chromium:
    def __init__(self, profile: Path, width: int = 1280, height: int = 1800):
        exe = require_binary("chromium")
        profile.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen([exe, *headless_args(profile), "--remote-debugging-port=0", "--remote-allow-origins=*",
                                      f"--window-size={width},{height}", "about:blank"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = profile / "DevToolsActivePort"
        port = wait_until(lambda: port_file.exists() and port_file.read_text().split("\n")[0].strip(), 30, "chromium's DevTools port")
        pages = wait_until(lambda: [t for t in self._targets(port) if t["type"] == "page"], 15, "a page target")
        self.ws = websocket.create_connection(pages[0]["webSocketDebuggerUrl"], timeout=60)
        self._ids = count(1)
        self.send("Page.enable")
        self.send("DOM.enable")
        self.send("CSS.enable")
        self.send("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False)

    @staticmethod
    def _targets(port: str) -> list[dict]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=2) as resp:
                return json.load(resp)
        except OSError:
            return []

    def send(self, method: str, **params) -> dict:
        msg_id = next(self._ids)
        self.ws.send(json.dumps({"id": msg_id, "method": method, "params": params}))
        while True:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == msg_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def open(self, url: str) -> None:
        self.send("Page.navigate", url=url)
        wait_until(lambda: self.evaluate("document.readyState") == "complete", 30, f"{url} to load")

    def evaluate(self, expression: str):
        return self.send("Runtime.evaluate", expression=expression, returnByValue=True)["result"].get("value")

    def fonts_of(self, selector: str) -> list[tuple[str, list[dict]]]:
        """(text, platform fonts that drew it) of every node matching ``selector``."""
        root = self.send("DOM.getDocument", depth=-1)["root"]["nodeId"]
        out = []
        for node in self.send("DOM.querySelectorAll", nodeId=root, selector=selector)["nodeIds"]:
            text = self.send("DOM.getOuterHTML", nodeId=node)["outerHTML"]
            out.append((text, self.send("CSS.getPlatformFontsForNode", nodeId=node)["fonts"]))
        return out

    def screenshot(self, path: Path) -> Path:
        height = int(self.evaluate("document.documentElement.scrollHeight"))
        data = self.send("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                         clip={"x": 0, "y": 0, "width": 1280, "height": min(height, 6000), "scale": 1})["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        try:
            self.ws.close()
        finally:
            stop(self.proc)
