"""``serve`` shows the bulletin read-only at /bulletin and /bulletin/<period>; a real headless Chromium
renders it with its tables and charts, and draws every Chinese character with a CJK font (no boxes)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from PIL import Image

from exporters.bulletin import build, render
from exporters.bulletin import style
from exporters.ledger import Ledger
from exporters.service import Service
from tests.collectors.test_examples import ingest_inbox
from tests.conftest import require_binary
from tests.exporters.headless import Chromium

AS_OF = "2023-07-31"
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def served(deployment, db, tmp_path):
    ingest_inbox(deployment, db)
    service = Service(deployment, as_of=AS_OF, ledger=Ledger(tmp_path / "n.db"), port=0)
    server = service.start_http()
    try:
        yield service, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        service.ledger.close()


def _get(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=120) as resp:
            return resp.status, resp.headers["Content-Type"], resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read()


def test_the_page_is_the_bulletin_of_the_latest_or_the_named_period(served, deployment, db):
    service, base = served
    assert service.server.server_address[0] == "127.0.0.1"  # bound like /metrics
    code, ctype, june = _get(base + "/bulletin/2023-06")
    assert (code, ctype) == (200, "text/html; charset=utf-8")
    assert june == render(build(deployment, db, period="2023-06", as_of=AS_OF), "html")
    code, _, latest = _get(base + "/bulletin")
    # As of 31 July, July's reports are not due yet: the latest bulletin is June's, title and tables alike.
    assert code == 200 and latest == june
    assert _get(base + "/bulletin/2023-05")[2].decode().count("2023年5月") >= 1
    assert _get(base + "/bulletin/not-a-period")[0] == 404
    assert _get(base + "/metrics")[0] == 200


def test_headless_chromium_draws_the_tables_charts_and_chinese_with_a_cjk_font(served, tmp_path):
    _, base = served
    fc_match = require_binary("fc-match")
    # The first family of the page's font stack is installed (fonts-noto-cjk), and it is the CJK face.
    first = style.FONT_STACK.split(",")[0].strip('" ')
    matched = subprocess.run([fc_match, "-f", "%{family}|%{file}", f"{first}:lang=zh-cn"], capture_output=True, text=True).stdout
    assert first in matched and Path(matched.split("|")[-1]).exists(), matched
    browser = Chromium(tmp_path / "chromium")
    try:
        browser.open(base + "/bulletin/2023-06")
        counts = browser.evaluate("""({tables: document.querySelectorAll('section.league table').length,
            leagues: document.querySelectorAll('section.league').length,
            bars: document.querySelectorAll('svg rect.bar').length,
            lines: document.querySelectorAll('svg line.target, svg line.reference').length,
            pacing: document.querySelectorAll('svg.pacing').length,
            drawn: [...document.querySelectorAll('svg')].filter(s => s.getBoundingClientRect().width > 100).length})""")
        assert counts["leagues"] == counts["tables"] >= 20
        assert counts["bars"] >= 12 * 10 and counts["lines"] >= 5 and counts["drawn"] >= 10
        # Every node of Chinese text is drawn by the CJK face alone: a missing glyph would need a fallback font.
        checked = 0
        for text, fonts in browser.fonts_of("h1, h2, h3, th, td.name, svg text"):
            if not CJK.search(text):
                continue
            families = {f["familyName"] for f in fonts}
            assert families and all("CJK" in f for f in families), (text, fonts)
            checked += 1
        assert checked > 100
        shot = browser.screenshot(tmp_path / "bulletin.png")
    finally:
        browser.close()
    if os.environ.get("TARGETWATCH_KEEP_SCREENSHOT"):
        shutil.copy(shot, os.environ["TARGETWATCH_KEEP_SCREENSHOT"])
    image = Image.open(shot).convert("RGB")
    assert image.width == 1280 and image.height > 1500
    colours = image.getcolors(maxcolors=1 << 20)
    present = {rgb for _, rgb in colours}
    hexes = {"#%02X%02X%02X" % rgb for rgb in present}
    assert style.BAR in hexes  # the peers' bars
    assert style.COLOUR_FILL["green"][0] in hexes and style.COLOUR_FILL["red"][0] in hexes  # 红绿 status cells


def test_a_page_that_cannot_be_built_says_so_and_serving_goes_on(deployment, tmp_path):
    service = Service(deployment, as_of=AS_OF, ledger=Ledger(tmp_path / "n.db"), port=0)
    # A rule file broken while the service runs: the page is built from the files as they are now.
    (deployment.root / "rules" / "broken.yaml").write_text("apiVersion: targetwatch/v1\nkind: Rule\n", encoding="utf-8")
    server = service.start_http()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        assert _get(base + "/bulletin")[0] == 500
        assert _get(base + "/-/healthy")[0] == 200
    finally:
        server.shutdown()
        server.server_close()
        service.ledger.close()
