"""Small HTML building blocks of the report: escaped cells, captioned tables, cards, tags."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

from . import texts


def n(value: Any) -> str:
    return (
        f"{value:,}" if isinstance(value, int) else ("–" if value is None else escape(str(value)))
    )


def table(
    caption: str,
    headers: Sequence[str],
    body: Sequence[Sequence[Any]],
    *,
    numeric: Sequence[int] = (),
    total: Sequence[Any] | None = None,
    tid: str = "",
) -> str:
    """An HTML table with a caption; cells are escaped unless already markup (tuple)."""
    head = "".join(
        f'<th scope="col"{" class=num" if i in numeric else ""}>{escape(h)}</th>'
        for i, h in enumerate(headers)
    )

    def cell(i: int, v: Any) -> str:
        cls = ' class="num"' if i in numeric else ""
        html = v[0] if isinstance(v, tuple) else n(v)
        return f"<td{cls}>{html}</td>"

    rows = ["<tr>" + "".join(cell(i, v) for i, v in enumerate(r)) + "</tr>" for r in body]
    if total is not None:
        rows.append(
            '<tr class="total">' + "".join(cell(i, v) for i, v in enumerate(total)) + "</tr>"
        )
    if not body:
        rows.append(f'<tr><td colspan="{len(headers)}" class="muted">None.</td></tr>')
    ident = f' id="{tid}"' if tid else ""
    return (
        f'<div class="scroll"><table{ident}><caption>{escape(caption)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


def card(key: str, label: str, value: Any, sub: str = "", cls: str = "") -> str:
    shown = f"{value:,}" if isinstance(value, int) else "not available"
    return (
        f'<div class="card {cls}"><dt>{escape(label)}</dt>'
        f'<dd data-summary="{key}">{shown}</dd>'
        + (f'<p class="sub">{sub}</p>' if sub else "")
        + "</div>"
    )


def tag(cls: str) -> tuple[str]:
    return (f'<span class="tag {escape(cls)}">{escape(texts.CLASS_LABELS.get(cls, cls))}</span>',)


def mono(text: Any) -> tuple[str]:
    return (f'<span class="mono">{n(text)}</span>',)
