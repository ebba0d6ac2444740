"""A report series drawn as a small SVG line chart (what an alert's screenshot shows): the buckets in time order,
the value axis from 0 (or the lowest value) to the highest, and the alert's threshold as a dashed line. Every text
is escaped; the output depends only on the input."""

from __future__ import annotations

from html import escape
from typing import Final

WIDTH: Final = 640
HEIGHT: Final = 320
PAD: Final = 48


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 or value == int(value) else f"{value:,.2f}"


def render(title: str, points: list[tuple[str, float]], threshold: float | None = None) -> str:
    """An SVG document: ``points`` are (bucket label, value) in time order."""
    values = [value for _, value in points] + ([threshold] if threshold is not None else [])
    low = min([0.0, *values])
    high = max([*values, low + 1.0])
    span = high - low
    inner_w, inner_h = WIDTH - 2 * PAD, HEIGHT - 2 * PAD

    def x(n: int) -> float:
        return PAD + (inner_w * n / (len(points) - 1) if len(points) > 1 else inner_w / 2)

    def y(value: float) -> float:
        return PAD + inner_h * (1 - (value - low) / span)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
             f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="11">',
             f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#fff"/>',
             f'<text x="{PAD}" y="24" font-size="14" font-weight="bold">{escape(title)}</text>',
             f'<line x1="{PAD}" y1="{y(low):.1f}" x2="{WIDTH - PAD}" y2="{y(low):.1f}" stroke="#999"/>',
             f'<text x="{PAD - 6}" y="{y(high):.1f}" text-anchor="end">{_fmt(high)}</text>',
             f'<text x="{PAD - 6}" y="{y(low):.1f}" text-anchor="end">{_fmt(low)}</text>']
    if threshold is not None:
        parts.append(f'<line x1="{PAD}" y1="{y(threshold):.1f}" x2="{WIDTH - PAD}" y2="{y(threshold):.1f}" '
                     'stroke="#d33" stroke-dasharray="6 4"/>')
    if points:
        line = " ".join(f"{x(n):.1f},{y(value):.1f}" for n, (_, value) in enumerate(points))
        parts.append(f'<polyline points="{line}" fill="none" stroke="#3366cc" stroke-width="2"/>')
        for n in (0, len(points) - 1) if len(points) > 1 else (0,):
            parts.append(f'<text x="{x(n):.1f}" y="{HEIGHT - PAD + 16}" text-anchor="middle">'
                         f'{escape(points[n][0][:10])}</text>')
        last_x, last_y = x(len(points) - 1), y(points[-1][1])
        parts.append(f'<circle cx="{last_x:.1f}" cy="{last_y:.1f}" r="4" fill="#3366cc"/>')
        parts.append(f'<text x="{last_x:.1f}" y="{last_y - 8:.1f}" text-anchor="end">{_fmt(points[-1][1])}</text>')
    parts.append("</svg>")
    return "".join(parts)
