"""Charts drawn on the server as SVG: no script, no CDN, readable offline and printable.
Each is an ``<svg role="img">`` named by its ``<title>``; the page puts the same numbers
in a table beside it (the text alternative). Every label is escaped here."""

from __future__ import annotations

from markupsafe import Markup
from markupsafe import escape

# Distinguishable for the common colour-vision deficiencies (Okabe-Ito), dark enough on white.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
WIDTH, HEIGHT, PAD = 640, 220, 36


def _open(chart_id: str, title: str, width: int, height: int) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img"'
        f' viewBox="0 0 {width} {height}" aria-labelledby="{chart_id}-t">',
        f'<title id="{chart_id}-t">{escape(title)}</title>',
    ]


def stacked_bars(
    chart_id: str, title: str, labels: list[str], series: dict[str, list[int]]
) -> Markup:
    """Columns per label, each stacked from the series (in order, one colour each), with a
    legend and the tallest column's value as the scale."""
    parts = _open(chart_id, title, WIDTH, HEIGHT)
    columns = len(labels) or 1
    tallest = max([sum(v[i] for v in series.values()) for i in range(len(labels))] + [1])
    slot = (WIDTH - 2 * PAD) / columns
    plot = HEIGHT - 2 * PAD
    for i, label in enumerate(labels):
        x, top = PAD + i * slot, HEIGHT - PAD
        for n, (name, values) in enumerate(series.items()):
            h = values[i] / tallest * plot
            if h:
                top -= h
                parts.append(
                    f'<rect x="{x + 1:.1f}" y="{top:.1f}" width="{max(slot - 2, 1):.1f}"'
                    f' height="{h:.1f}" fill="{PALETTE[n % len(PALETTE)]}">'
                    f"<title>{escape(label)} · {escape(name)}: {values[i]}</title></rect>"
                )
        if i in (0, columns - 1) or columns <= 12:
            parts.append(
                f'<text x="{x + slot / 2:.1f}" y="{HEIGHT - PAD + 14}" font-size="10"'
                f' text-anchor="middle">{escape(label)}</text>'
            )
    parts.append(f'<text x="{PAD}" y="{PAD - 8}" font-size="11">{tallest}</text>')
    base = HEIGHT - PAD
    parts.append(f'<line x1="{PAD}" y1="{base}" x2="{WIDTH - PAD}" y2="{base}" stroke="#333"/>')
    parts.extend(_legend(list(series), HEIGHT - 8))
    parts.append("</svg>")
    return Markup("".join(parts))


def _legend(names: list[str], y: int) -> list[str]:
    items, x = [], PAD
    for n, name in enumerate(names):
        items.append(
            f'<rect x="{x}" y="{y - 9}" width="10" height="10" fill="{PALETTE[n % len(PALETTE)]}"/>'
            f'<text x="{x + 14}" y="{y}" font-size="11">{escape(name)}</text>'
        )
        x += 24 + 7 * len(name)
    return items


def province_grid(chart_id: str, title: str, cells: list[tuple[str, str, int]]) -> Markup:
    """A grid of the provinces in code order (north to south), each shaded by its value:
    ``cells`` are ``(code, name, value)``, the code for the caller's order only."""
    columns, size = 6, 100
    rows = (len(cells) - 1) // columns + 1
    parts = _open(chart_id, title, columns * size, rows * 56)
    top = max([value for _c, _n, value in cells] + [1])
    for i, (_code, name, value) in enumerate(cells):
        x, y = i % columns * size, i // columns * 56
        share = value / top
        fill = f"rgba(0, 114, 178, {0.08 + 0.92 * share:.2f})"
        ink = "#fff" if share > 0.5 else "#111"
        parts.append(
            f"<g><title>{escape(name)}: {value}</title>"
            f'<rect x="{x + 2}" y="{y + 2}" width="{size - 4}" height="52" rx="4" fill="{fill}"'
            f' stroke="#555"/>'
            f'<text x="{x + 8}" y="{y + 22}" font-size="11" fill="{ink}">'
            f"{escape(_short(name))}</text>"
            f'<text x="{x + 8}" y="{y + 42}" font-size="14" font-weight="bold" fill="{ink}">'
            f"{value}</text></g>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def _short(name: str) -> str:
    """A province's name as its cell has room for: "Hồ Chí Minh" for "Thành phố Hồ Chí Minh"."""
    return name.removeprefix("Thành phố ").removeprefix("Tỉnh ")[:16]
