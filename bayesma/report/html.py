"""One self-contained ``report.html``: the report's paragraph and tables, figures embedded as base64 PNG.

A co-author opens the one file in a browser; nothing is loaded from elsewhere.
The page is rendered from the Markdown of :func:`bayesma.report.report_text`
(headings, paragraphs, pipe tables, lists, code blocks: the subset the report
uses) plus extra tables and figures.
"""

from __future__ import annotations

import base64
import html
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from bayesma.report.tables import markdown_table

__all__ = ["html_report", "markdown_to_html"]

_CSS = """
body { font-family: Georgia, 'Times New Roman', serif; max-width: 58em; margin: 2em auto; padding: 0 1em;
       line-height: 1.5; color: #222; }
h1 { font-size: 1.6em; border-bottom: 1px solid #ccc; padding-bottom: .2em; }
h2 { font-size: 1.25em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: .8em 0; font-family: Helvetica, Arial, sans-serif; font-size: .85em; }
th, td { padding: .25em .7em; border-bottom: 1px solid #ddd; }
th { border-bottom: 2px solid #444; text-align: left; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 1.2em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: .85em; color: #555; }
pre { background: #f6f6f6; padding: .6em; overflow-x: auto; font-size: .85em; }
code { font-size: .9em; }
"""


def _inline(text: str) -> str:
    out = html.escape(text, quote=False)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", out)


def _table(rows: list[str]) -> str:
    cells = [[c.strip() for c in r.strip().strip("|").split("|")] for r in rows]
    header, align, body = cells[0], cells[1], cells[2:]
    right = [a.endswith(":") and not a.startswith(":") for a in align]
    head = "".join(f'<th class="{"num" if r else ""}">{_inline(h)}</th>' for h, r in zip(header, right))
    lines = ["<table>", f"<thead><tr>{head}</tr></thead>", "<tbody>"]
    for row in body:
        tds = "".join(f'<td class="{"num" if r else ""}">{_inline(c)}</td>' for c, r in zip(row, right))
        lines.append(f"<tr>{tds}</tr>")
    lines += ["</tbody>", "</table>"]
    return "\n".join(lines)


def _figure(name: str, png: bytes) -> str:
    data = base64.b64encode(png).decode("ascii")
    return (f'<figure><img alt="{html.escape(name)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{_inline(name)}</figcaption></figure>")


_IMAGE = re.compile(r"^!\[(.*)\]\((.+)\)\s*$")


def markdown_to_html(text: str, base: str | os.PathLike | None = None) -> str:
    """The Markdown subset of the report (headings, paragraphs, pipe tables, lists, fenced code) as HTML.

    An image line ``![caption](file.png)`` is embedded (base64) from *base*, the directory of the files.
    """
    lines = text.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
        elif line.startswith("```"):
            j = i + 1
            while j < len(lines) and not lines[j].startswith("```"):
                j += 1
            out.append("<pre>" + html.escape("\n".join(lines[i + 1:j])) + "</pre>")
            i = j + 1
        elif (m := _IMAGE.match(line)) and base is not None:
            out.append(_figure(m.group(1), (Path(base) / m.group(2)).read_bytes()))
            i += 1
        elif m := re.match(r"^(#{1,6})\s+(.*)$", line):
            n = len(m.group(1))
            out.append(f"<h{n}>{_inline(m.group(2))}</h{n}>")
            i += 1
        elif line.startswith("|"):
            j = i
            while j < len(lines) and lines[j].startswith("|"):
                j += 1
            out.append(_table(lines[i:j]))
            i = j
        elif line.startswith("- "):
            j = i
            items = []
            while j < len(lines) and lines[j].startswith("- "):
                items.append(f"<li>{_inline(lines[j][2:])}</li>")
                j += 1
            out.append("<ul>" + "".join(items) + "</ul>")
            i = j
        else:
            j = i
            while j < len(lines) and lines[j].strip() and not re.match(r"^(#|\||- |```|!\[)", lines[j]):
                j += 1
            out.append("<p>" + _inline(" ".join(lines[i:j])) + "</p>")
            i = j
    return "\n".join(out)


def _png(fig: str | os.PathLike | bytes) -> bytes:
    if isinstance(fig, (bytes, bytearray)):
        return bytes(fig)
    return Path(fig).read_bytes()


def html_report(
    markdown: str,
    figures: Mapping[str, str | os.PathLike | bytes] | Sequence[tuple[str, str | os.PathLike | bytes]] = (),
    tables: Mapping[str, pd.DataFrame] | None = None,
    title: str | None = None,
    base: str | os.PathLike | None = None,
) -> str:
    """One self-contained HTML page: the report's Markdown, extra tables, and the figures embedded.

    Parameters
    ----------
    markdown : str
        The report (:func:`bayesma.report.report_text`); its first heading is the page title.
    figures : dict or list of (name, PNG)
        Each figure as a PNG file path or PNG bytes, by name (the name is the caption);
        every one is embedded as a ``data:image/png;base64`` image.
    tables : dict of DataFrame, optional
        More tables (e.g. the combined table of several outcomes), each under its name as a heading.
    title : str, optional
        The page title (default: the report's first heading).
    base : path, optional
        Directory of the images the Markdown shows inline (``![caption](forest.png)``); each is
        embedded where it stands.

    Returns
    -------
    str
        The HTML document.

    Examples
    --------
    >>> page = html_report("# Report\\n\\nk = 3 studies.\\n")
    >>> "<h1>Report</h1>" in page and "<p>k = 3 studies.</p>" in page
    True
    """
    items = list(figures.items()) if isinstance(figures, Mapping) else list(figures)
    if title is None:
        m = re.search(r"^#\s+(.*)$", markdown, flags=re.M)
        title = m.group(1) if m else "Meta-analysis report"
    body = [markdown_to_html(markdown, base)]
    for name, df in (tables or {}).items():
        body.append(f"<h2>{_inline(name)}</h2>")
        body.append(_table(markdown_table(df)))
    if items:
        body.append("<h2>Figures</h2>")
    for name, fig in items:
        body.append(_figure(name, _png(fig)))
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
            + "\n".join(body) + "\n</body>\n</html>\n")
