"""The bulletin as ONE self-contained HTML page: inline CSS, charts as inline SVG, nothing fetched.

Every text that came from a user (unit, rule and indicator names, messages) is HTML-escaped. The same
page is what ``serve`` shows at /bulletin and what the PDF is printed from.
"""

from __future__ import annotations

from html import escape

import numpy as np
import pandas as pd

from exporters.bulletin import style
from exporters.bulletin.model import BOTTOM, Bulletin


def _e(value) -> str:
    return escape("" if value is None or (isinstance(value, float) and value != value) else str(value), quote=True)


def _css() -> str:
    cells = "\n".join(f".s-{s} {{ background: {style.COLOUR_FILL[c][0]}; color: {style.COLOUR_FILL[c][1]}; }}"
                      for s, _, c in style.legend())
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
svg {{ display: block; margin: 4px 0; }}
svg text {{ font-family: {style.FONT_STACK}; }}
.none {{ color: #555; }}
{cells}
"""


def _table(head: list[str], rows: list[str], cls: str = "") -> str:
    if not rows:
        return '<p class="none">无。</p>'
    th = "".join(f"<th>{_e(h)}</th>" for h in head)
    return f'<table class="{cls}"><thead><tr>{th}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _column(values: pd.Series) -> np.ndarray:
    return values.astype(object).map(_e).to_numpy(dtype=object)


def _league_rows(block: pd.DataFrame) -> list[str]:
    # Whole columns at once: a 2,000-unit × 100-indicator bulletin has 200,000 rows.
    status = block["status"].astype(object)
    own = np.where(block["responsible"].to_numpy(dtype=bool), ' class="own"', "")
    star = np.where(block["responsible"].to_numpy(dtype=bool), "★", "")
    cells = [
        _column(style.numbers(block["rank"], 0).where(block["rank"].notna(), "—")),
        star + _column(block["unit_name"]),
        _column(style.numbers(block["value"])),
        _column(style.numbers(block["growth"])),
        _column(style.rank_moves(block["rank_change"])),
        _column(style.targets(block["target"], block["target_kind"])),
        _column(style.numbers(block["reference"])),
    ]
    words = _column(style.status_labels(status))
    out = (pd.Series(own, dtype=object).radd("<tr").add(">")
           .add("<td>").add(cells[0]).add('</td><td class="name">').add(cells[1])
           .add("</td><td>").add(cells[2]).add("</td><td>").add(cells[3]).add("</td><td>").add(cells[4])
           .add("</td><td>").add(cells[5]).add("</td><td>").add(cells[6])
           .add('</td><td class="s-').add(_column(status)).add('">').add(words).add("</td></tr>"))
    return out.tolist()


def bar_chart(block: pd.DataFrame, target: float, reference: float, measure: str, width: int = 1100, height: int = 260) -> str:
    """Bars of the table's units in rank order, coloured by status, with the target and the group's figure as lines."""
    values = pd.to_numeric(block["value"], errors="coerce").to_numpy(dtype=np.float64)
    names = block["unit_name"].astype(str).tolist()
    lines = [x for x in (target, reference) if x == x and x is not None]
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return '<p class="none">本表无已报送数值，不绘图。</p>'
    lo = min(0.0, float(finite.min()), *lines)
    hi = max(0.0, float(finite.max()), *lines)
    if hi == lo:
        hi = lo + 1
    left, right, top, bottom = 56, 12, 14, 78
    plot_w, plot_h = width - left - right, height - top - bottom
    n = len(values)
    step = plot_w / max(n, 1)
    bar_w = max(step * 0.7, 1.0)

    def y(v: float) -> float:
        return top + (hi - v) / (hi - lo) * plot_h

    zero = y(0.0)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
             f'<line x1="{left}" y1="{zero:.1f}" x2="{width - right}" y2="{zero:.1f}" stroke="#666"/>',
             f'<text x="{left - 6}" y="{top + 10}" text-anchor="end" font-size="11">{_e(f"{hi:g}")}</text>',
             f'<text x="{left - 6}" y="{top + plot_h}" text-anchor="end" font-size="11">{_e(f"{lo:g}")}</text>',
             f'<text x="4" y="{top + plot_h / 2:.0f}" font-size="11">{_e(measure)}</text>']
    xs = left + step * np.arange(n) + (step - bar_w) / 2
    status = block["status"].astype(object).tolist()
    label_every = max(1, int(np.ceil(n / 60)))
    for i, (x, v) in enumerate(zip(xs, values)):
        if v == v:
            y0, y1 = sorted((y(v), zero))
            fill = style.status_fill(status[i])[1] if block["responsible"].iloc[i] else style.BAR
            parts.append(f'<rect class="bar" x="{x:.1f}" y="{y0:.1f}" width="{bar_w:.1f}" height="{max(y1 - y0, 0.5):.1f}" fill="{fill}"/>')
        if i % label_every == 0:
            cx = x + bar_w / 2
            parts.append(f'<text x="{cx:.1f}" y="{top + plot_h + 12}" font-size="11" text-anchor="end" '
                         f'transform="rotate(-45 {cx:.1f} {top + plot_h + 12})">{_e(names[i])}</text>')
    for value, colour, name in ((target, style.TARGET_LINE, "目标"), (reference, style.REFERENCE_LINE, "全组")):
        if value is not None and value == value:
            parts.append(f'<line class="{"target" if name == "目标" else "reference"}" x1="{left}" x2="{width - right}" '
                         f'y1="{y(value):.1f}" y2="{y(value):.1f}" stroke="{colour}" stroke-width="2" stroke-dasharray="6 4"/>'
                         f'<text x="{width - right}" y="{y(value) - 3:.1f}" text-anchor="end" font-size="12" fill="{colour}">'
                         f'{_e(name)} {_e(f"{value:g}")}</text>')
    parts.append("</svg>")
    return "".join(parts)


def pacing_chart(path: pd.DataFrame, width: int = 560, height: int = 240) -> str:
    """The cumulative value month by month against the target path (the share due by each month)."""
    months = np.arange(1, 13)
    target = pd.Series(path["target"].to_numpy(dtype=np.float64), index=path["month"].to_numpy())
    value = pd.Series(path["value"].to_numpy(dtype=np.float64), index=path["month"].to_numpy())
    finite = np.concatenate([target.dropna().to_numpy(), value.dropna().to_numpy()])
    if finite.size == 0:
        return ""
    hi = max(float(finite.max()), 1e-9) * 1.1
    left, right, top, bottom = 56, 12, 14, 30
    plot_w, plot_h = width - left - right, height - top - bottom

    def xy(m: int, v: float) -> str:
        return f"{left + (m - 1) / 11 * plot_w:.1f},{top + (hi - v) / hi * plot_h:.1f}"

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="pacing" width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
             f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" stroke="#666"/>']
    for m in months:
        parts.append(f'<text x="{left + (m - 1) / 11 * plot_w:.1f}" y="{height - 10}" font-size="11" text-anchor="middle">{m}月</text>')
    for series, colour, name, dash in ((target, style.TARGET_LINE, "目标进度", "6 4"), (value, style.REFERENCE_LINE, "累计完成", "")):
        pts = " ".join(xy(int(m), float(v)) for m, v in series.dropna().items())
        if pts:
            parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" stroke-dasharray="{dash}" points="{pts}"/>')
    parts.append(f'<text x="{left + 4}" y="{top + 10}" font-size="12" fill="{style.TARGET_LINE}">目标进度</text>'
                 f'<text x="{left + 80}" y="{top + 10}" font-size="12" fill="{style.REFERENCE_LINE}">累计完成</text></svg>')
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
               f"<tr><th>未按期报送</th><td>{_e(late_names)}</td></tr>"
               "</tbody></table>")
    out.append('<p class="legend">' + "".join(f'<span class="s-{s}">{_e(w)}</span>' for s, w, _ in style.legend()) +
               "★ 为目标责任单位；▲ 进位、▼ 退位（与上期比）。</p>")
    out.append("<h2>二、各项指标排名</h2>")
    head = ["位次", "单位", "数值", "增速(%)", "进位/退位", "目标", "全组", "状态"]
    for i, (t, block) in enumerate(zip(b.tables.itertuples(index=False), _blocks(b.league, b.tables))):
        out.append(f'<section class="league"><h3>{i + 1}. {_e(t.rule_title)}（{_e(t.group_name)}，{_e(t.indicator_name)}）</h3>'
                   f'<p class="meta">单位：{_e(t.measure)}　目标：{_e(style.targets(pd.Series([t.target]), pd.Series([t.target_kind])).iloc[0])}'
                   f'　全组：{_e(style.numbers(pd.Series([t.reference])).iloc[0])}　已报送 {int(block["rank"].notna().sum())} / {len(block)}</p>')
        out.append(bar_chart(block, style.value_line(t.target, t.target_kind), t.reference, t.measure))
        out.append(_table(head, _league_rows(block), "league") + "</section>")
    out.append("<h2>三、确保目标未完成（落后）</h2>")
    out.append(_table(["单位", "目标", "期别", "数值", "目标值", "差距", "说明"], [
        f'<tr><td class="name">{_e(r.unit_name)}</td><td class="name">{_e(r.rule_title)}</td><td>{_e(r.period)}</td>'
        f"<td>{_e(v)}</td><td>{_e(t)}</td><td>{_e(g)}</td><td class=\"name\">{_e(r.message)}</td></tr>"
        for r, v, t, g in zip(b.behind.itertuples(index=False), style.numbers(b.behind["value"]),
                              style.numbers(b.behind["target"]), style.numbers(b.behind["gap"]))]))
    out.append(f"<h2>四、各项排名后{BOTTOM}位单位（约谈）</h2>")
    out.append(_table(["指标", "位次", "单位", "数值"], [
        f'<tr><td class="name">{_e(r.rule_title)}</td><td>{_e(k)}</td><td class="name">{_e(r.unit_name)}</td><td>{_e(v)}</td></tr>'
        for r, k, v in zip(b.bottom.itertuples(index=False), style.numbers(b.bottom["rank"], 0), style.numbers(b.bottom["value"]))]))
    out.append("<h2>五、逾期未报</h2>")
    out.append(_table(["单位", "指标", "期别", "报送截止"], [
        f'<tr><td class="name">{_e(r.unit_name)}</td><td class="name">{_e(r.indicator_name)}</td><td>{_e(r.period)}</td><td>{_e(r.deadline)}</td></tr>'
        for r in b.late.itertuples(index=False)]))
    out.append("<h2>六、已完成目标</h2>")
    out.append(_table(["单位", "目标", "数值", "目标值"], [
        f'<tr><td class="name">{_e(r.unit_name)}</td><td class="name">{_e(r.rule_title)}</td><td>{_e(v)}</td><td>{_e(t)}</td></tr>'
        for r, v, t in zip(b.met.itertuples(index=False), style.numbers(b.met["value"]), style.numbers(b.met["target"]))]))
    out.append("<h2>七、年度任务进度（时间过半、任务过半）</h2>")
    out.append(_table(["单位", "目标", "年度任务", "累计完成", "完成年度任务", "应完成", "时间进度", "状态"], [
        f'<tr><td class="name">{_e(r.unit_name)}</td><td class="name">{_e(r.rule_title)}</td><td>{_e(a)}</td><td>{_e(v)}</td>'
        f"<td>{_e(pct(d))}</td><td>{_e(pct(r.due_pct))}</td><td>{_e(pct(r.time_pct))}</td>"
        f'<td class="s-{_e(r.status)}">{_e(w)}</td></tr>'
        for r, a, v, d, w in zip(b.pacing.itertuples(index=False), style.numbers(b.pacing["annual"]), style.numbers(b.pacing["value"]),
                                 b.pacing["done_pct"], style.status_labels(b.pacing["status"]))]))
    for (rule, unit), path in b.pacing_path.groupby(["rule", "unit"], sort=False):
        chart = pacing_chart(path)
        if chart:
            out.append(f"<h3>{_e(path['unit_name'].iloc[0])}：{_e(path['rule_title'].iloc[0])}</h3>{chart}")
    out.append("</body></html>")
    return "".join(out)


def pct(x) -> str:
    """完成年度任务的X%: one decimal, — when unknown."""
    return "—" if x is None or x != x else f"{float(x):.1f}%"


def _blocks(league: pd.DataFrame, tables: pd.DataFrame) -> list[pd.DataFrame]:
    """The league frame cut into its tables, in the tables' order (rows of a table are contiguous)."""
    ends = np.cumsum(tables["rows"].to_numpy(dtype=np.int64)) if len(tables) else np.array([], dtype=np.int64)
    starts = np.concatenate([[0], ends[:-1]]) if len(ends) else ends
    return [league.iloc[s:e] for s, e in zip(starts, ends)]
