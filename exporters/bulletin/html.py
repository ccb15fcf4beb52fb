"""The bulletin as ONE self-contained HTML page: inline CSS, charts as inline SVG, nothing fetched.

Every text that came from a user (unit, rule and indicator names, messages) is HTML-escaped. The same
page is what ``serve`` shows at /bulletin and what the PDF is printed from.
"""

from __future__ import annotations

from html import escape

import numpy as np
import pandas as pd

from exporters.bulletin import style
from exporters.bulletin.model import BOTTOM, PACING_LINES, Bulletin
from rules.vocabulary import TIERS, label


def _e(value) -> str:
    return escape("" if value is None or (isinstance(value, float) and value != value) else str(value), quote=True)


def _css() -> str:
    cells = "\n".join(f".s-{s} {{ background: {style.status_fill(s)[0]}; color: {style.status_fill(s)[1]}; }}"
                      for s, _, _ in style.legend())
    return f"""
@page {{ size: A4 landscape; margin: 12mm; }}
body {{ font-family: {style.FONT_STACK}; margin: 24px auto; max-width: 1180px; color: #1a1a1a; font-size: 14px; }}
h1 {{ text-align: center; font-size: 26px; margin: 8px 0; color: #9C0006; }}
h2 {{ font-size: 19px; border-left: 6px solid #9C0006; padding-left: 8px; margin-top: 28px; }}
h3 {{ font-size: 16px; margin: 20px 0 4px; }}
.sub {{ text-align: center; color: #555; }}
.meta {{ color: #555; margin: 2px 0 6px; }}
table {{ border-collapse: collapse; width: 100%; margin: 6px 0 14px; page-break-inside: auto; }}
th, td {{ border: 1px solid #b7b7b7; padding: 3px 6px; text-align: center; }}
th {{ background: #E7ECF2; white-space: nowrap; }}
td.name {{ text-align: left; }}
tr.own td {{ font-weight: bold; }}
.cover td {{ text-align: left; }}
.legend span {{ display: inline-block; padding: 1px 8px; margin-right: 6px; border: 1px solid #b7b7b7; }}
svg {{ display: block; margin: 4px 0; width: 100%; height: auto; }}
svg.pacing {{ max-width: 760px; }}
h2, h3, .meta, svg {{ break-after: avoid; break-inside: avoid; }}
tr {{ break-inside: avoid; }}
svg text {{ font-family: {style.FONT_STACK}; }}
.none {{ color: #555; }}
{cells}
"""


def _table(head: list[str], rows: str, cls: str = "") -> str:
    if not rows:
        return '<p class="none">无。</p>'
    th = "".join(f"<th>{_e(h)}</th>" for h in head)
    return f'<table class="{cls}"><thead><tr>{th}</tr></thead><tbody>{rows}</tbody></table>'


def _column(values) -> np.ndarray:
    """The escaped text of a whole column, each distinct value escaped once (a 200,000-row bulletin
    repeats its 2,000 unit names a hundred times)."""
    codes, uniques = pd.factorize(pd.Series(values, dtype=object))
    return np.array([_e(u) for u in uniques] + [""], dtype=object)[codes]


def _rows(cells: list[tuple[np.ndarray, object]], tr=None, cuts=None):
    """Table rows from columns of escaped text, each column with its <td> attributes (one text, or one per
    row): the pieces laid out row by row in one array and joined once, or once per slice of ``cuts``
    ((start, end) row ranges: the tables of one frame)."""
    n = len(cells[0][0])
    grid = np.empty((n, 2 * len(cells) + 2), dtype=object)
    grid[:, 0] = "<tr>" if tr is None else tr
    for k, (text, attrs) in enumerate(cells):
        grid[:, 2 * k + 1] = "<td>" if isinstance(attrs, str) and not attrs else ("<td" + attrs + ">")
        grid[:, 2 * k + 2] = text
    grid[:, -1] = "</td></tr>"
    grid[:, 3:-1:2] = "</td>" + grid[:, 3:-1:2]
    if cuts is not None:
        return ["".join(grid[a:b].ravel().tolist()) for a, b in cuts]
    return "".join(grid.ravel().tolist())


NAME = ' class="name"'


def _league_bodies(block: pd.DataFrame, cuts) -> list[str]:
    """The rows of every league table, built over the whole league frame at once and cut per table."""
    own = block["responsible"].to_numpy(dtype=bool)
    status = _column(block["status"])
    return _rows([
        (_column(style.numbers(block["rank"], 0)), ""),
        (np.where(own, "★", "").astype(object) + _column(block["unit_name"]), NAME),
        (_column(style.numbers(block["value"])), ""),
        (_column(style.numbers(block["growth"])), ""),
        (_column(style.rank_moves(block["rank_change"])), ""),
        (_column(style.targets(block["target"], block["target_kind"])), ""),
        (_column(style.numbers(block["reference"])), ""),
        (_column(style.status_labels(block["status"])), ' class="s-' + status + '"'),
    ], tr=np.where(own, '<tr class="own">', "<tr>"), cuts=cuts)


def bar_chart(block: pd.DataFrame, target: float, reference: float, measure: str, width: int = 1100, height: int = 260) -> str:
    """Bars of the table's units in rank order (the responsible units in their status colour), with the
    target and the group's figure as dashed lines."""
    values = pd.to_numeric(block["value"], errors="coerce").to_numpy(dtype=np.float64)
    lines = [x for x in (target, reference) if x is not None and x == x]
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return '<p class="none">本表无已报送数值，不绘图。</p>'
    lo = min(0.0, float(finite.min()), *lines)
    hi = max(0.0, float(finite.max()), *lines)
    hi = hi if hi > lo else lo + 1
    left, right, top, bottom = 56, 12, 14, 78
    plot_w, plot_h = width - left - right, height - top - bottom
    n = len(values)
    step = plot_w / max(n, 1)
    bar_w = max(step * 0.7, 1.0)

    def y(v):
        return top + (hi - v) / (hi - lo) * plot_h

    zero = y(0.0)
    xs = left + step * np.arange(n) + (step - bar_w) / 2
    drawn = np.isfinite(values)
    y_top = np.minimum(y(values), zero)[drawn]
    heights = np.maximum(np.abs(y(values) - zero), 0.5)[drawn]
    ink = {s: style.status_fill(s)[1] for s in style.STATUSES}
    fills = np.where(block["responsible"].to_numpy(dtype=bool), block["status"].map(ink).fillna(style.BAR).to_numpy(dtype=object),
                     style.BAR)[drawn]
    rects = ('<rect class="bar" x="' + np.char.mod("%.1f", xs[drawn]).astype(object) + '" y="' + np.char.mod("%.1f", y_top).astype(object)
             + f'" width="{bar_w:.1f}" height="' + np.char.mod("%.1f", heights).astype(object) + '" fill="' + fills.astype(object) + '"/>')
    every = max(1, int(np.ceil(n / 60)))  # at most 60 names under the axis
    names = _column(block["unit_name"])
    labels = [f'<text x="{x + bar_w / 2:.1f}" y="{top + plot_h + 12}" font-size="11" text-anchor="end" '
              f'transform="rotate(-45 {x + bar_w / 2:.1f} {top + plot_h + 12})">{names[i]}</text>' for i, x in enumerate(xs) if i % every == 0]
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
             f'<line x1="{left}" y1="{zero:.1f}" x2="{width - right}" y2="{zero:.1f}" stroke="#666"/>',
             f'<text x="{left - 6}" y="{top + 10}" text-anchor="end" font-size="11">{_e(f"{hi:g}")}</text>',
             f'<text x="{left - 6}" y="{top + plot_h}" text-anchor="end" font-size="11">{_e(f"{lo:g}")}</text>',
             f'<text x="4" y="{top + plot_h / 2:.0f}" font-size="11">{_e(measure)}</text>', "".join(rects.tolist()), *labels]
    drawn_lines = [(v, colour, name, cls) for v, colour, name, cls in
                   ((target, style.TARGET_LINE, "目标 ", "target"), (reference, style.REFERENCE_LINE, "全组 ", "reference"))
                   if v is not None and v == v]
    if len(drawn_lines) == 2 and f"{target:g}" == f"{reference:g}":
        # 高于全市平均水平: the target is the group's figure; two labels in one place would read as neither.
        drawn_lines = [(target, style.TARGET_LINE, "目标（全组）", "target reference")]
    label_ys: list[float] = []
    for value, colour, name, cls in drawn_lines:
        label_y = y(value) - 3
        if any(abs(label_y - other) < 13 for other in label_ys):
            label_y = y(value) + 13  # close to the other line: this label goes under its own line
        label_ys.append(label_y)
        parts.append(f'<line class="{cls}" x1="{left}" x2="{width - right}" y1="{y(value):.1f}" y2="{y(value):.1f}" '
                     f'stroke="{colour}" stroke-width="2" stroke-dasharray="6 4"/>'
                     f'<text x="{width - right}" y="{label_y:.1f}" text-anchor="end" font-size="12" '
                     f'stroke="#fff" stroke-width="3" paint-order="stroke" fill="{colour}">'  # a halo: legible over a bar
                     f'{_e(name)}{_e(f"{value:g}")}</text>')
    parts.append("</svg>")
    return "".join(parts)


def pacing_chart(due: pd.Series, path: pd.DataFrame, width: int = 760, height: int = 280) -> str:
    """One pacing target: the share of the annual task due by each month (``due``, the target path over the
    year) and the share each charted unit has done (完成年度任务的X%), month by month."""
    done = path.dropna(subset=["done_pct"])
    finite = np.concatenate([due.to_numpy(dtype=np.float64), done["done_pct"].to_numpy(dtype=np.float64)])
    if finite.size == 0:
        return ""
    hi = max(float(finite.max()) * 1.1, 10.0)
    left, right, top, bottom = 48, 170, 14, 30
    plot_w, plot_h = width - left - right, height - top - bottom

    def xy(m, v) -> str:
        return f"{left + (m - 1) / 11 * plot_w:.1f},{top + (hi - v) / hi * plot_h:.1f}"

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="pacing" width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
             f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#666"/>',
             f'<text x="{left - 6}" y="{top + 10}" text-anchor="end" font-size="11">{hi:.0f}%</text>',
             f'<text x="{left - 6}" y="{top + plot_h}" text-anchor="end" font-size="11">0%</text>']
    parts += [f'<text x="{left + (m - 1) / 11 * plot_w:.1f}" y="{height - 10}" font-size="11" text-anchor="middle">{m}月</text>'
              for m in range(1, 13)]
    legend = [("应完成（目标进度）", style.TARGET_LINE, "6 4", due)]
    for i, (unit, rows) in enumerate(done.groupby("unit_name", sort=False)):
        legend.append((f"{unit}", style.SERIES[i % len(style.SERIES)], "", rows.set_index("month")["done_pct"]))
    for k, (name, colour, dash, series) in enumerate(legend):
        pts = " ".join(xy(int(m), float(v)) for m, v in series.items())
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" stroke-dasharray="{dash}" points="{pts}"/>')
        parts.append(f'<line x1="{width - right + 8}" x2="{width - right + 28}" y1="{top + 8 + k * 16}" y2="{top + 8 + k * 16}" '
                     f'stroke="{colour}" stroke-width="2" stroke-dasharray="{dash}"/>'
                     f'<text x="{width - right + 32}" y="{top + 12 + k * 16}" font-size="11">{_e(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def render_html(b: Bulletin) -> str:
    """The whole page."""
    out = [f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>{_e(b.title)}</title>',
           f"<style>{_css()}</style></head><body>",
           f"<h1>{_e(b.title)}</h1>",
           f'<p class="sub">数据截至 {_e(b.as_of.isoformat())}{"　比较组：" + _e(b.group) if b.group else ""}</p>']
    late_names = "、".join(b.late_unit_names) or "无"
    out.append('<h2>一、总体情况</h2><table class="cover"><tbody>'
               f"<tr><th>辖区</th><td>{_e(b.jurisdiction)}</td></tr>"
               f"<tr><th>通报期别</th><td>{_e(b.period_label)}（{_e(b.period)}）</td></tr>"
               f"<tr><th>数据截至</th><td>{_e(b.as_of.isoformat())}</td></tr>"
               f"<tr><th>按期报送</th><td>{b.on_time} / {len(b.units)} 个单位</td></tr>"
               f"<tr><th>目标判定</th><td>{_e(style.count_line(b.status_counts))}</td></tr>"
               f"<tr><th>未按期报送</th><td>{_e(late_names)}</td></tr>"
               "</tbody></table>")
    out.append('<p class="legend">' + "".join(f'<span class="s-{s}">{_e(w)}</span>' for s, w, _ in style.legend()) +
               "★ 为目标责任单位；▲ 进位、▼ 退位（与上期比）。</p>")
    out.append("<h2>二、各项指标排名</h2>")
    head = ["位次", "单位", "数值", "增速(%)", "进位/退位", "目标", "全组", "状态"]
    cuts = _cuts(b.tables)
    bodies = _league_bodies(b.league, cuts) if len(b.league) else []
    for i, (t, (a, z)) in enumerate(zip(b.tables.itertuples(index=False), cuts)):
        block = b.league.iloc[a:z]
        out.append(f'<section class="league"><h3>{i + 1}. {_e(t.rule_title)}（{_e(t.group_name)}，{_e(t.indicator_name)}）</h3>'
                   f'<p class="meta">单位：{_e(t.measure)}　目标：{_e(style.targets(pd.Series([t.target]), pd.Series([t.target_kind])).iloc[0])}'
                   f'　全组：{_e(style.numbers(pd.Series([t.reference])).iloc[0])}　已报送 {int(block["rank"].notna().sum())} / {len(block)}</p>')
        out.append(bar_chart(block, style.value_line(t.target, t.target_kind), t.reference, t.measure))
        out.append(_table(head, bodies[i], "league") + "</section>")
    out.append(f"<h2>三、确保目标未完成（{_e(label('behind'))}）</h2>")
    r = b.behind
    out.append(_table(["单位", "目标", "期别", "数值", "目标值", "差距", "说明"], _rows([
        (_column(r["unit_name"]), NAME), (_column(r["rule_title"]), NAME), (_column(r["period"]), ""),
        (_column(style.numbers(r["value"])), ""), (_column(style.numbers(r["target"])), ""), (_column(style.numbers(r["gap"])), ""),
        (_column(r["message"]), NAME)]) if len(r) else ""))
    out.append(f"<h2>四、各项排名后{BOTTOM}位单位（约谈）</h2>")
    r = b.bottom
    out.append(_table(["指标", "位次", "单位", "数值"], _rows([
        (_column(r["indicator_name"]), NAME), (_column(style.numbers(r["rank"], 0)), ""), (_column(r["unit_name"]), NAME),
        (_column(style.numbers(r["value"])), "")]) if len(r) else ""))
    out.append(f"<h2>五、{_e(label('late'))}</h2>")
    r = b.late
    out.append(_table(["单位", "指标", "期别", "报送截止"], _rows([
        (_column(r["unit_name"]), NAME), (_column(r["indicator_name"]), NAME), (_column(r["period"]), ""),
        (_column(r["deadline"].astype(str)), "")]) if len(r) else ""))
    out.append(f"<h2>六、已完成目标（{_e(label('on_track'))}）</h2>")
    r = b.met
    out.append(_table(["单位", "目标", "数值", "目标值"], _rows([
        (_column(r["unit_name"]), NAME), (_column(r["rule_title"]), NAME), (_column(style.numbers(r["value"])), ""),
        (_column(style.numbers(r["target"])), "")]) if len(r) else ""))
    out.append("<h2>七、年度任务进度（时间过半、任务过半）</h2>")
    r = b.pacing
    out.append(_table(["单位", "目标", "计量单位", "年度任务", "累计完成", "完成年度任务", "应完成", "时间进度", "快于(+)/慢于(−)时间进度", "状态"], _rows([
        (_column(r["unit_name"]), NAME), (_column(r["rule_title"]), NAME), (_column(r["measure"]), ""),
        (_column(style.numbers(r["annual"])), ""),
        (_column(style.numbers(r["value"])), ""), (_column(style.percents(r["done_pct"])), ""),
        (_column(style.percents(r["due_pct"])), ""), (_column(style.percents(r["time_pct"])), ""),
        (_column(style.points(r["ahead_pct"])), ""),
        (_column(style.status_labels(r["status"])), ' class="s-' + _column(r["status"]) + '"')]) if len(r) else ""))
    paths = dict(tuple(b.pacing_path.groupby("rule", sort=False)))
    for rule, due in b.pacing_due.groupby("rule", sort=False):
        chart = pacing_chart(due.set_index("month")["due_pct"], paths.get(rule, b.pacing_path.iloc[:0]))
        if chart:
            out.append(f"<h3>{_e(due['rule_title'].iloc[0])}：完成年度任务的进度（进度最慢的{PACING_LINES}个单位以内）</h3>{chart}")
    r = b.data_checks
    if len(r):  # failed data checks: no missed target, a figure to correct, for the contact who reported it
        out.append(f"<h2>八、数据核对（{_e(TIERS['data'].missed)}，请联络人核实后更正重报）</h2>")
        out.append(_table(["单位", "核对", "期别", "联络人", "说明"], _rows([
            (_column(r["unit_name"]), NAME), (_column(r["rule_title"]), NAME), (_column(r["period"]), ""),
            (_column(r["contact_name"]), NAME), (_column(r["message"]), NAME)])))
    out.append("</body></html>")
    return "".join(out)


def _cuts(tables: pd.DataFrame) -> list[tuple[int, int]]:
    """(first, end) rows of each table in the league frame (a table's rows are contiguous, in table order)."""
    ends = np.cumsum(tables["rows"].to_numpy(dtype=np.int64)) if len(tables) else np.array([], dtype=np.int64)
    starts = np.concatenate([[0], ends[:-1]]) if len(ends) else ends
    return [(int(a), int(z)) for a, z in zip(starts, ends)]
