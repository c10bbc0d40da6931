"""``robustness.html``: a ``deepfake robustness`` result as a page in the scan report's style.

One table of every condition (what the CLI prints, and each manipulation family's AUC), the mean AUC drop per DeeperForensics level against the
issue's targets, and the plot. The page shell is :func:`detector.outputs.html.page`, whose policy lets images
load from ``data:`` URIs only, so the PNG is embedded rather than referenced (a relative ``src`` would be
blocked); a plain link to the file beside it stays for a full-size view. Every piece of text is escaped: a
condition or model name is data, never markup.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from html import escape
from typing import Any

from detector.outputs.html import page

# The issue's targets: mean AUC drop over DeeperForensics' seven types at a level, at most this much.
TARGETS: dict[str, float] = {"3": 0.05, "5": 0.10}
PNG_NAME = "robustness.png"


def render(result: dict[str, Any], *, png: bytes | None = None, title: str = "Robustness") -> str:
    """The page for ``result`` (the JSON the CLI writes); ``png``: the plot's bytes, embedded when given."""
    return page(title, [
        f"<header><h1>{escape(title)}</h1>", _model_block(result), "</header>",
        _targets(result.get("mean_auc_drop_by_level") or {}),
        _rows(result.get("rows") or []),
        _plot(png),
    ])


def _model_block(result: dict[str, Any]) -> str:
    model = result.get("model") or {}
    rows = [("model", f"{model.get('name', '?')} {model.get('version', '')}".strip()),
            ("sha256", str(model.get("sha256", ""))), ("items", str(result.get("items", ""))),
            ("seed", str(result.get("seed", ""))), ("threshold", _num(result.get("threshold"), "{:.2f}"))]
    body = "".join(f"<tr><td>{escape(k)}</td><td><code>{escape(v)}</code></td></tr>" for k, v in rows)
    return f"<table class=\"model\">{body}</table>"


def _targets(mean_drop: dict[str, float]) -> str:
    """Every level with a mean (all seven types ran), and every level with a target, met or not."""
    levels = sorted({*mean_drop, *TARGETS}, key=int)
    rows = []
    for level in levels:
        drop = mean_drop.get(level)
        target = TARGETS.get(level)
        rows.append(f"<tr><td class=\"num\">{escape(level)}</td><td class=\"num\">{_num(drop, '{:+.3f}')}</td>"
                    f"<td class=\"num\">{_num(target, '≤ {:.2f}')}</td><td>{_status(drop, target)}</td></tr>")
    return ("<section class=\"targets\"><h2>Mean AUC drop per DeeperForensics level</h2>"
            "<p class=\"note\">The drop against the clean run, averaged over the seven types; a level counts only "
            "when all seven ran at it.</p>"
            "<table><thead><tr><th class=\"num\">level</th><th class=\"num\">mean drop</th>"
            "<th class=\"num\">target</th><th>status</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></section>")


def _status(drop: float | None, target: float | None) -> str:
    # The verdict badges' colours: green met, red unmet, grey when the level was not run in full.
    if target is None:
        return ""
    if drop is None:
        return "<span class=\"badge v-no_face\">not measured</span>"
    return ("<span class=\"badge v-real\">met</span>" if drop <= target
            else "<span class=\"badge v-fake\">unmet</span>")


def _rows(rows: Sequence[dict[str, Any]]) -> str:
    # Per-family AUC after the headline columns: one column per manipulation family any row reports.
    families = sorted({f for r in rows for f in (r.get("families") or {})})
    head = "".join(_cell("th", h, num) for h, num in (
        ("condition", False), ("kind", False), ("param", False), ("n", True), ("AUC", True), ("95% CI", True),
        ("drop vs clean", True), ("false-fake", True), ("no face", True), ("errors", True),
        *((f"AUC {f}", True) for f in families)))
    body = "".join(_row(r, families) for r in rows)
    return (f"<section class=\"conditions\"><h2>Conditions</h2><table><thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table></section>")


def _row(r: dict[str, Any], families: Sequence[str] = ()) -> str:
    param = r.get("param")
    by_family = r.get("families") or {}
    cells = [(str(r.get("condition", "")), False), (str(r.get("kind") or "clean"), False),
             ("" if param is None else param if isinstance(param, str) else f"{param:g}", False),
             (str(r.get("n") or 0), True), (_num(r.get("auc"), "{:.3f}"), True), (_ci(r.get("auc_95ci")), True),
             (_num(r.get("auc_drop"), "{:+.3f}"), True), (_num(r.get("false_fake"), "{:.0%}"), True),
             (str(r.get("no_face") or 0), True), (str(r.get("errors") or 0), True),
             *((_num(by_family.get(f), "{:.3f}"), True) for f in families)]
    return "<tr>" + "".join(_cell("td", text, num) for text, num in cells) + "</tr>"


def _ci(ci: Sequence[float | None] | None) -> str:
    return f"[{ci[0]:.3f}, {ci[1]:.3f}]" if ci is not None and len(ci) == 2 and None not in ci else "-"


def _cell(tag: str, text: str, num: bool) -> str:
    cls = " class=\"num\"" if num else ""
    return f"<{tag}{cls}>{escape(text)}</{tag}>"


def _plot(png: bytes | None) -> str:
    link = f"<p class=\"note\"><a href=\"{PNG_NAME}\">{PNG_NAME}</a></p>"
    if png is None:
        return f"<section class=\"plot\"><h2>AUC by level</h2>{link}</section>"
    uri = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    return (f"<section class=\"plot\"><h2>AUC by level</h2><img src=\"{uri}\" alt=\"item AUC by level, one line "
            f"per type\">{link}</section>")


def _num(value: float | None, fmt: str) -> str:
    return "-" if value is None else fmt.format(value)
