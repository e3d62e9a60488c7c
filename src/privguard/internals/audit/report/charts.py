"""Inline SVG charts drawn in Python: no JavaScript, no network, readable when printed.

Colors come from the Okabe-Ito palette, which readers with the common forms of color
blindness can tell apart; every chart has a <title> and <desc> for screen readers and
the numbers are also given in a table next to it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

# Okabe-Ito (Color Universal Design) palette.
ORANGE = "#E69F00"
SKY = "#56B4E9"
GREEN = "#009E73"
YELLOW = "#F0E442"
BLUE = "#0072B2"
VERMILLION = "#D55E00"
PURPLE = "#CC79A7"
INK = "#222222"
GRID = "#d9d9d9"


@dataclass(frozen=True)
class Series:
    """One set of bars: a label for the legend, a value per category, a color."""

    label: str
    values: Sequence[int]
    color: str


def nice_max(value: float) -> tuple[float, float]:
    """A round axis maximum at or above ``value`` and its tick step (1, 2 or 5 x 10^k)."""
    if value <= 0:
        return 1.0, 1.0
    raw = value / 4
    exp = 10 ** math.floor(math.log10(raw))
    step = next(m * exp for m in (1, 2, 5, 10) if m * exp >= raw)
    step = max(step, 1.0)  # counts are whole numbers
    return step * math.ceil(value / step), step


def _fmt(v: float) -> str:
    return f"{int(v):,}" if float(v).is_integer() else f"{v:,.1f}"


def _open(cid: str, title: str, desc: str, width: int, height: int) -> list[str]:
    return [
        f'<svg viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-labelledby="{cid}-t {cid}-d" class="chart" '
        f'font-family="inherit" font-size="12">',
        f'<title id="{cid}-t">{escape(title)}</title>',
        f'<desc id="{cid}-d">{escape(desc)}</desc>',
    ]


def _legend(series: Sequence[Series], x: float, y: float) -> list[str]:
    parts = []
    for s in series:
        parts.append(
            f'<rect x="{x:.1f}" y="{y - 10:.1f}" width="12" height="12" fill="{s.color}"/>'
        )
        parts.append(f'<text x="{x + 17:.1f}" y="{y:.1f}" fill="{INK}">{escape(s.label)}</text>')
        x += 24 + 7.2 * len(s.label)
    return parts


def column_chart(
    cid: str,
    title: str,
    desc: str,
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    stacked: bool = True,
    width: int = 860,
    height: int = 300,
) -> str:
    """Vertical bars per category (e.g. month), stacked or side by side."""
    left, right, top, bottom = 56, 12, 34, 46
    plot_w, plot_h = width - left - right, height - top - bottom
    n = max(len(categories), 1)
    if stacked:
        peak = max((sum(s.values[i] for s in series) for i in range(len(categories))), default=0)
    else:
        peak = max((max(s.values, default=0) for s in series), default=0)
    ymax, step = nice_max(peak)
    parts = _open(cid, title, desc, width, height)
    parts += _legend(series, left, 18)
    tick = 0.0
    while tick <= ymax + 1e-9:
        y = top + plot_h - plot_h * tick / ymax
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>'
        )
        parts.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{INK}">{_fmt(tick)}</text>'
        )
        tick += step
    slot = plot_w / n
    bar_w = max(slot * 0.75, 1.0)
    label_every = max(1, math.ceil(n / 14))
    for i, cat in enumerate(categories):
        x0 = left + slot * i + (slot - bar_w) / 2
        base = 0.0
        for k, s in enumerate(series):
            v = s.values[i]
            if v <= 0:
                continue
            h = plot_h * v / ymax
            if stacked:
                y, w, x = top + plot_h - plot_h * base / ymax - h, bar_w, x0
                base += v
            else:
                w = bar_w / len(series)
                x, y = x0 + k * w, top + plot_h - h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" fill="{s.color}">'
                f"<title>{escape(cat)}: {escape(s.label)} {v:,}</title></rect>"
            )
        if i % label_every == 0:
            cx = left + slot * i + slot / 2
            parts.append(
                f'<text x="{cx:.1f}" y="{top + plot_h + 16}" text-anchor="middle" '
                f'fill="{INK}">{escape(cat)}</text>'
            )
    parts.append(
        f'<line x1="{left}" x2="{width - right}" y1="{top + plot_h}" y2="{top + plot_h}" '
        f'stroke="{INK}"/>'
    )
    parts.append("</svg>")
    return "\n".join(parts)


def bar_chart(
    cid: str,
    title: str,
    desc: str,
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    width: int = 860,
) -> str:
    """Horizontal bars per category (e.g. facility), series side by side."""
    shown = [c if len(c) <= 34 else c[:33] + "…" for c in categories]
    label_w = min(300, 16 + 8 * max((len(c) for c in shown), default=4))
    left, right, top, bottom = label_w, 70, 34, 10
    row_h = 12 * len(series) + 12
    height = top + bottom + row_h * max(len(categories), 1)
    plot_w = width - left - right
    peak = max((max(s.values, default=0) for s in series), default=0)
    xmax, _ = nice_max(peak)
    parts = _open(cid, title, desc, width, height)
    parts += _legend(series, left, 18)
    for i, cat in enumerate(categories):
        y0 = top + row_h * i + 6
        parts.append(
            f'<text x="{left - 8}" y="{y0 + 6 * len(series) + 4:.1f}" text-anchor="end" '
            f'fill="{INK}">{escape(shown[i])}<title>{escape(cat)}</title></text>'
        )
        for k, s in enumerate(series):
            v = s.values[i]
            w = plot_w * v / xmax
            y = y0 + 12 * k
            parts.append(
                f'<rect x="{left}" y="{y:.1f}" width="{w:.1f}" height="11" fill="{s.color}">'
                f"<title>{escape(cat)}: {escape(s.label)} {v:,}</title></rect>"
            )
            parts.append(f'<text x="{left + w + 4:.1f}" y="{y + 10:.1f}" fill="{INK}">{v:,}</text>')
    parts.append(
        f'<line x1="{left}" x2="{left}" y1="{top}" y2="{height - bottom}" stroke="{INK}"/>'
    )
    parts.append("</svg>")
    return "\n".join(parts)
