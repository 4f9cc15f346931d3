"""Server-side SVG bar charts with target lines: no script, print cleanly, scale with the page."""
from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup, escape


@dataclass
class Bar:
    label: str
    value: float | None
    target: float | None = None
    display: str | None = None


def _fmt(value: float | None, percent: bool) -> str:
    if value is None:
        return "—"
    return f"{value * 100:.1f}%" if percent else (f"{value:g}")


def bar_chart(bars: list[Bar], *, percent: bool = True, max_value: float | None = None, title: str = "") -> Markup:
    """Vertical bars, each with its value written above it; a target is a dashed red line across
    its bar with the target written beside it."""
    if not bars:
        return Markup('<p class="muted">暂无数据</p>')
    top = max_value if max_value is not None else max(
        [b.value or 0 for b in bars] + [b.target or 0 for b in bars] + [1 if percent else 1e-9])
    top = top or 1
    width, height, left, bottom, pad = max(360, 110 * len(bars) + 60), 240, 44, 46, 24
    plot_h = height - bottom - pad
    slot = (width - left - 10) / len(bars)
    bar_w = min(56, slot * 0.55)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
             f'role="img" aria-label="{escape(title)}" font-size="12" font-family="sans-serif">']
    for i in range(5):  # grid + axis labels
        frac = i / 4
        y = pad + plot_h * (1 - frac)
        parts.append(f'<line x1="{left}" x2="{width - 6}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e5e5e5"/>')
        parts.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" fill="#777">{_fmt(top * frac, percent)}</text>')
    for i, b in enumerate(bars):
        cx = left + slot * i + slot / 2
        if b.value is not None:
            h = plot_h * min(max(b.value, 0) / top, 1)
            met = b.target is None or b.value >= b.target
            color = "#1a7f37" if b.target is not None and met else "#a8071a" if b.target is not None else "#0958d9"
            parts.append(f'<rect x="{cx - bar_w / 2:.1f}" y="{pad + plot_h - h:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="{color}"/>')
            parts.append(f'<text x="{cx:.1f}" y="{pad + plot_h - h - 4:.1f}" text-anchor="middle">'
                         f'{escape(b.display or _fmt(b.value, percent))}</text>')
        else:
            parts.append(f'<text x="{cx:.1f}" y="{pad + plot_h - 4:.1f}" text-anchor="middle" fill="#999">无数据</text>')
        if b.target is not None:
            ty = pad + plot_h * (1 - min(b.target / top, 1))
            parts.append(f'<line class="target" x1="{cx - slot * 0.45:.1f}" x2="{cx + slot * 0.45:.1f}" y1="{ty:.1f}" '
                         f'y2="{ty:.1f}" stroke="#d4380d" stroke-width="2" stroke-dasharray="5,3"/>')
            parts.append(f'<text x="{cx + slot * 0.45:.1f}" y="{ty - 3:.1f}" text-anchor="end" fill="#d4380d" font-size="11">'
                         f'目标 {_fmt(b.target, percent)}</text>')
        label = b.label if len(b.label) <= 9 else b.label[:8] + "…"
        parts.append(f'<text x="{cx:.1f}" y="{height - bottom + 16}" text-anchor="middle"><title>{escape(b.label)}</title>'
                     f'{escape(label)}</text>')
    parts.append(f'<line x1="{left}" x2="{width - 6}" y1="{pad + plot_h}" y2="{pad + plot_h}" stroke="#999"/>')
    parts.append("</svg>")
    return Markup("".join(parts))
