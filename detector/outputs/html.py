"""The HTML page shell both reports use (``deepfake scan --report`` and ``deepfake audit report --format html``):
one stylesheet, one verdict badge, and one Content-Security-Policy.

The pages are self-contained by construction (inline CSS and SVG, images as ``data:`` URIs), and the policy
enforces it: nothing may load from anywhere, no script may run. A file name that smuggles markup past the
escaping still cannot fetch or execute anything.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
CSP_META = f"<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">"

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1000px;
 padding:16px 24px;color:#222}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:0 0 6px;word-break:break-all}
table{border-collapse:collapse;margin:8px 0}th,td{border-bottom:1px solid #ddd;padding:4px 10px;text-align:left}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
code{font:12px ui-monospace,Menlo,Consolas,monospace;word-break:break-all}
.badge{display:inline-block;border-radius:4px;padding:1px 8px;font-weight:600;color:#fff;font-size:13px}
.v-fake{background:#c0392b}.v-real{background:#2e7d32}.v-uncertain{background:#b7791f}
.v-no_face{background:#6b7280}.v-error{background:#4b2a7b}
.counts .badge{margin-right:4px}.counts span.count{margin-right:14px}
.model{background:#f6f6f6;border-radius:6px;padding:8px 12px}.model td{border:0;padding:1px 10px 1px 0}
section.media{border-top:2px solid #ddd;margin-top:22px;padding-top:14px}
.reasons li{margin:0}.error{color:#4b2a7b}
.faces{display:flex;flex-wrap:wrap;gap:14px}
figure{margin:0;border:1px solid #ddd;border-radius:6px;padding:6px;background:#fafafa}
figure img{width:160px;height:160px;image-rendering:auto;display:inline-block}
figcaption{font-size:12px;max-width:330px}.note{color:#555;font-size:12px}
img.thumb{width:96px;height:96px;display:block}
.trust{border:2px solid #b7791f;background:#fffaf0;border-radius:6px;padding:8px 12px;margin:14px 0}
.trust h2{margin-bottom:4px}.trust p{margin:4px 0}.trust table{background:#fff}
.trust td.warn{color:#8a4b00;font-size:12px}
.kind{display:inline-block;border:1px solid #999;border-radius:4px;padding:0 6px;margin-left:6px;font-size:12px;
 color:#333}
.provenance{border:1px solid #ccc;border-radius:6px;padding:6px 12px;margin:10px 0;background:#fafafa}
.provenance h3{margin:2px 0}.provenance p{margin:4px 0}.provenance table{background:#fff}
.provenance-facts th{font-weight:normal;color:#555}.provenance.p-none{border-style:dashed;background:#fff}
.provenance-invalid{border:2px solid #c0392b;background:#fdecea}.provenance-warning{color:#8b1a10}
.provenance-flag{display:inline-block;border-radius:4px;padding:1px 8px;margin-left:6px;font-size:13px;font-weight:600;
 color:#fff;background:#8b1a10}
"""


def page(title: str, body: Iterable[str]) -> str:
    """A complete HTML document: the shell around ``body`` (already escaped HTML fragments)."""
    return "".join([
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
        CSP_META,
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>",
        *body,
        "</body></html>\n",
    ])


def badge(verdict: str) -> str:
    """A verdict as a coloured label (``fake`` red, ``real`` green, ``uncertain`` amber...)."""
    return f"<span class=\"badge v-{escape(verdict)}\">{escape(verdict)}</span>"


def kind_label(kind: str | None, probability: float | None) -> str:
    """The kind of fake beside a verdict (``swap · 0.82``: P(kind | fake)); empty when none is named."""
    if kind is None:
        return ""
    p = "" if probability is None else f" · {probability:.2f}"
    return (f"<span class=\"kind\" title=\"kind of fake; the number is P(kind | fake), not P(fake)\">"
            f"{escape(kind)}{p}</span>")
