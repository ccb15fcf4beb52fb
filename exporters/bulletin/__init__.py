"""The monthly bulletin (通报): league tables, the lists the seeds act on, and charts, as xlsx, html or pdf.

``bulletin(deployment, store, period=..., as_of=..., group=..., fmt=...)`` returns the rendered bytes;
``exporters.bulletin.model.build`` returns the frames (every figure a verdict of ``rules.evaluate``).
"""

from __future__ import annotations

from exporters.bulletin.model import Bulletin, build

FORMATS = ("xlsx", "html", "pdf")
MEDIA_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
}


def render(b: Bulletin, fmt: str) -> bytes:
    """One built bulletin in one format."""
    if fmt == "xlsx":
        from exporters.bulletin.xlsx import render_xlsx

        return render_xlsx(b)
    from exporters.bulletin.html import render_html

    page = render_html(b)
    if fmt == "html":
        return page.encode("utf-8")
    if fmt == "pdf":
        from exporters.bulletin.pdf import html_to_pdf

        return html_to_pdf(page)
    raise ValueError(f"unknown bulletin format {fmt!r}; known: {', '.join(FORMATS)}")


def bulletin(deployment, store, *, period=None, as_of=None, group=None, fmt: str = "xlsx") -> bytes:
    """The bulletin of ``period`` as of ``as_of`` (for one peer group, or all), rendered as ``fmt``."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown bulletin format {fmt!r}; known: {', '.join(FORMATS)}")
    return render(build(deployment, store, period=period, as_of=as_of, group=group), fmt)


__all__ = ["Bulletin", "FORMATS", "MEDIA_TYPES", "build", "bulletin", "render"]
