"""The bulletin as PDF: the HTML page printed by headless Chromium (Debian's ``chromium``).

Printing the same page keeps one layout for the screen and for paper; the page's ``@page`` rule asks
for A4 landscape, and the CJK font is the one the page names (fonts-noto-cjk).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from targetwatch.errors import TargetwatchError

BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def browser() -> str:
    """The headless browser's path; a clear error when none is installed."""
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    raise TargetwatchError("rendering a PDF needs Chromium: install the Debian package 'chromium' (see .ci/install-services)")


def headless_args(profile: Path) -> list[str]:
    # No sandbox: the service and CI run as root, where Chromium's sandbox refuses to start.
    return ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
            "--disable-extensions", "--hide-scrollbars", f"--user-data-dir={profile}"]


def html_to_pdf(html: str, timeout: float = 120.0) -> bytes:
    """Print one self-contained HTML page to PDF bytes."""
    exe = browser()
    with tempfile.TemporaryDirectory(prefix="targetwatch-pdf-") as tmp:
        page, out = Path(tmp) / "bulletin.html", Path(tmp) / "bulletin.pdf"
        page.write_text(html, encoding="utf-8")
        cmd = [exe, *headless_args(Path(tmp) / "profile"), "--no-pdf-header-footer", f"--print-to-pdf={out}", page.as_uri()]
        done = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
        if not out.exists() or out.stat().st_size == 0:
            raise TargetwatchError(f"chromium did not print the bulletin (exit {done.returncode}): "
                                   f"{done.stderr.decode('utf-8', 'replace')[-500:]}")
        return out.read_bytes()
