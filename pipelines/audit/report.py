"""``deepfake audit report``: what the ledger says, as CSV, JSON Lines or one self-contained HTML page.

Everything is read from the ledger's ``file_status`` view, for one analysis (model sha256 + scan settings;
default: that of the latest run that finished indexing) and one scope (default: the files that run or a
later one walked, so deleted and renamed-away paths drop out; ``all_files`` for every path ever seen), optionally
only the files of one kind of fake (``kind``: :data:`detector.kinds.FAKE_KINDS`; a model with a kind head names one
for its fake and uncertain files) and of one provenance state (``provenance``:
:data:`detector.provenance.PROVENANCE_STATES`, what each file declares about where it came from).

* ``csv``: one row per file.
* ``jsonl``: a ``{"type": "summary", ...}`` line, then one ``{"type": "file", ...}`` line per file whose
  ``result`` is its full ``MediaResult`` JSON (with the file's own path: duplicates share one scan).
* ``html``: first "How far to trust this model" (the analysed model's measured accuracy per manipulation
  family and its licence, from its model card: :func:`detector.outputs.report.trust_panel`), then counts by status and
  verdict (and provenance state), the most suspicious files with their face thumbnails and probabilities, the files
  that declare generative AI or carry a manifest broken after signing, errors by code, throughput per run, and the
  ledger's integrity check.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TextIO

from detector.errors import ConfigError

from .ledger import Integrity, Ledger, LedgerError

if TYPE_CHECKING:
    from detector.modelcard import ModelCard

FORMATS = ("csv", "jsonl", "html")


@dataclass(frozen=True)
class FileRecord:
    path: str
    status: str
    verdict: str | None
    fake_probability: float | None
    error_code: str | None
    error_message: str | None
    skip_reason: str | None
    content_sha256: str | None
    container: str | None
    duplicate_of: str | None
    result: dict[str, Any] | None
    kind: str | None = None  # the kind of fake its scan named (ledger version 2 on)
    provenance: str | None = None  # its provenance state (ledger version 3 on; None: not read)

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "status": self.status, "verdict": self.verdict,
                "fake_probability": self.fake_probability, "kind": self.kind, "provenance": self.provenance,
                "error_code": self.error_code,
                "error_message": self.error_message, "skip_reason": self.skip_reason,
                "content_sha256": self.content_sha256, "container": self.container,
                "duplicate_of": self.duplicate_of, "result": self.result}


@dataclass(frozen=True)
class RunRecord:
    id: int
    started_at: str
    finished_at: str | None
    status: str
    engine: str
    workers: int
    files_seen: int
    scanned: int
    scan_seconds: float

    @property
    def rate(self) -> float | None:
        return self.scanned / self.scan_seconds if self.scanned and self.scan_seconds > 0 else None

    def to_dict(self) -> dict[str, Any]:
        return {"run": self.id, "started_at": self.started_at, "finished_at": self.finished_at,
                "status": self.status, "engine": self.engine, "workers": self.workers,
                "files_seen": self.files_seen, "scanned": self.scanned, "scan_seconds": round(self.scan_seconds, 3),
                "files_per_second": None if self.rate is None else round(self.rate, 3)}


@dataclass(frozen=True)
class Report:
    ledger: str
    analysis: dict[str, Any]
    scope_run: int | None  # None: every file ever recorded
    files: tuple[FileRecord, ...]
    runs: tuple[RunRecord, ...]
    thumbnails: dict[str, bytes]  # content sha256 -> JPEG, for the top files
    top: int
    integrity: Integrity
    # The analysed model's card (measured accuracy, licence) for the html report; None: not at hand.
    card: ModelCard | None = None
    kind: str | None = None  # only files of this kind of fake; None: every file
    provenance: str | None = None  # only files in this provenance state; None: every file

    def top_suspicious(self) -> list[FileRecord]:
        """Files with a probability, most suspicious first; one per content (duplicates left out)."""
        scored = [f for f in self.files if f.fake_probability is not None and f.duplicate_of is None]
        return sorted(scored, key=lambda f: (-f.fake_probability, f.path))[:self.top]

    def declared(self) -> list[FileRecord]:
        """Files that declare generative AI or whose C2PA manifest was broken after signing, broken first; one per
        content. Listed apart from the most suspicious: a declared fake without a face has no probability."""
        from detector.provenance import AI_DECLARED_STATES

        states = ("invalid_signature", *AI_DECLARED_STATES)
        found = [f for f in self.files if f.provenance in states and f.duplicate_of is None]
        return sorted(found, key=lambda f: (states.index(f.provenance or ""), f.path))

    def summary(self) -> dict[str, Any]:
        scanned = sum(r.scanned for r in self.runs)
        seconds = sum(r.scan_seconds for r in self.runs)
        return {
            "ledger": self.ledger,
            "analysis": self.analysis,
            "scope": "all files" if self.scope_run is None else f"files seen by run {self.scope_run} or later",
            "filter": {"kind": self.kind, "provenance": self.provenance},
            "files": len(self.files),
            "unique_contents": len({f.content_sha256 for f in self.files if f.content_sha256}),
            "duplicates": sum(f.duplicate_of is not None for f in self.files),
            "by_status": dict(sorted(Counter(f.status for f in self.files).items())),
            "by_verdict": dict(sorted(Counter(f.verdict for f in self.files if f.verdict).items())),
            "by_kind": dict(sorted(Counter(f.kind for f in self.files if f.kind).items())),
            "by_provenance": dict(sorted(Counter(f.provenance for f in self.files if f.provenance).items())),
            "errors_by_code": dict(sorted(Counter(f.error_code for f in self.files if f.status == "error").items())),
            "skipped_by_reason": dict(sorted(Counter(f.skip_reason for f in self.files if f.skip_reason).items())),
            "top_suspicious": [{"path": f.path, "fake_probability": f.fake_probability, "verdict": f.verdict,
                                "kind": f.kind}
                               for f in self.top_suspicious()],
            "throughput": {"scanned": scanned, "scan_seconds": round(seconds, 3),
                           "files_per_second": round(scanned / seconds, 3) if scanned and seconds > 0 else None,
                           "runs": [r.to_dict() for r in self.runs]},
            "integrity": self.integrity.to_dict(),
        }


def load_report(ledger: Ledger, *, model: str | None = None, all_files: bool = False, top: int = 20,
                card: ModelCard | None = None, kind: str | None = None, provenance: str | None = None) -> Report:
    """Gather a report. ``model``: a model sha256 prefix (default: the latest indexed run's analysis).

    ``kind``: only the files whose scan named this kind of fake (one of :data:`detector.kinds.FAKE_KINDS`);
    duplicates are still marked against the first path of their content among those files. ``provenance``: only
    the files in this provenance state (one of :data:`detector.provenance.PROVENANCE_STATES`), the same way.

    ``card``: the analysed model's card, for the html report's "How far to trust this model" panel (default:
    the bundled card with the analysis's model sha256 and card digest, if there is one); a card of another model, or
    a card of the same graph other than the one the analysis was made with, is an error.
    """
    from detector.kinds import FAKE_KINDS
    from detector.provenance import PROVENANCE_STATES

    if kind is not None and kind not in FAKE_KINDS:
        raise ConfigError(f"unknown kind of fake {kind!r}; choose from {', '.join(FAKE_KINDS)}")
    if provenance is not None and provenance not in PROVENANCE_STATES:
        raise ConfigError(f"unknown provenance state {provenance!r}; choose from {', '.join(PROVENANCE_STATES)}")
    q = ledger.conn.execute
    row = q("SELECT r.id, r.analysis_id FROM runs r JOIN analyses a ON a.id = r.analysis_id "
            "WHERE r.indexed_at IS NOT NULL AND a.model_sha256 LIKE ? ORDER BY r.id DESC LIMIT 1",
            (f"{model or ''}%",)).fetchone()
    if row is None:
        raise LedgerError(f"{ledger.path} has no finished index" + (f" for model {model}" if model else "")
                          + "; run deepfake audit first")
    run_id, analysis_id = row
    name, version, sha256, settings = q("SELECT model_name, model_version, model_sha256, settings FROM analyses "
                                        "WHERE id = ?", (analysis_id,)).fetchone()
    scope_run = None if all_files else run_id
    rows = q("SELECT path, status, verdict, fake_probability, kind, provenance, error_code, error_message, "
             "skip_reason, content_sha256, container, result FROM file_status WHERE analysis_id = ? "
             "AND last_seen_run >= ? AND (? IS NULL OR kind = ?) AND (? IS NULL OR provenance = ?) ORDER BY path",
             (analysis_id, 0 if all_files else run_id, kind, kind, provenance, provenance)).fetchall()
    first_path: dict[str, str] = {}
    files = []
    for path, status, verdict, prob, file_kind, file_provenance, code, message, skip, content, container, result in rows:
        duplicate_of = None
        if content is not None:
            duplicate_of = first_path.setdefault(content, path)
            duplicate_of = None if duplicate_of == path else duplicate_of
        data = None if result is None else {**json.loads(result), "path": path}
        files.append(FileRecord(path, status, verdict, prob, code, message, skip, content, container, duplicate_of,
                                data, kind=file_kind, provenance=file_provenance))
    runs = tuple(RunRecord(*r) for r in q(
        "SELECT id, started_at, finished_at, status, engine, workers, files_seen, scanned, scan_seconds FROM runs "
        "WHERE analysis_id = ? ORDER BY id", (analysis_id,)))
    report = Report(str(ledger.path), {"model": {"name": name, "version": version, "sha256": sha256},
                                       "settings": json.loads(settings)},
                    scope_run, tuple(files), runs, {}, top, ledger.check(), kind=kind, provenance=provenance)
    wanted = [f.content_sha256 for f in report.top_suspicious()]
    thumbnails = dict(q(f"SELECT content_sha256, thumbnail FROM scans WHERE analysis_id = ? AND thumbnail IS NOT "
                        f"NULL AND content_sha256 IN ({','.join('?' * len(wanted))})", (analysis_id, *wanted)))
    from detector.outputs.report import bundled_card

    from .work import card_key

    # Analyses since v1.2.4 name their card's digest too: another card over the same graph (v1.2.3's and v1.2.4's
    # share one) judged differently, so its figures are not this analysis's.
    analysed = json.loads(settings).get("card")

    def analysed_with(c: ModelCard) -> bool:
        return c.sha256 == sha256 and (analysed is None or card_key(c) == analysed)

    if card is not None and not analysed_with(card):
        raise ValueError(f"model card {card.name} {card.version} (sha256 {card.sha256[:12]}) is not the card of the "
                         f"analysed model {name} {version} (sha256 {sha256[:12]})")
    found = card if card is not None else bundled_card(sha256)
    return replace(report, thumbnails=thumbnails, card=found if found is not None and analysed_with(found) else None)


# -- renderers ----------------------------------------------------------------------------------------

CSV_COLUMNS = ("path", "status", "verdict", "fake_probability", "kind", "provenance", "error_code", "skip_reason",
               "media", "container", "persons", "content_sha256", "duplicate_of", "error_message")


def write_csv(report: Report, out: TextIO) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for f in report.files:
        media = f.result["media"] if f.result else None
        persons = len(f.result["tracks"]) if f.result else None
        writer.writerow(["" if v is None else v for v in (
            f.path, f.status, f.verdict, f.fake_probability, f.kind, f.provenance, f.error_code, f.skip_reason, media,
            f.container, persons, f.content_sha256, f.duplicate_of, f.error_message)])


def write_jsonl(report: Report, out: TextIO) -> None:
    out.write(json.dumps({"type": "summary", **report.summary()}) + "\n")
    out.writelines(json.dumps({"type": "file", **f.to_dict()}) + "\n" for f in report.files)


def _table(title: str, counts: dict[str, Any], headers: tuple[str, str] = ("", "files")) -> str:
    if not counts:
        return f"<h2>{html.escape(title)}</h2><p>none</p>"
    rows = "".join(f"<tr><td>{html.escape(str(k))}</td><td class=num>{html.escape(str(v))}</td></tr>"
                   for k, v in counts.items())
    return (f"<h2>{html.escape(title)}</h2><table><tr><th>{headers[0]}</th><th>{headers[1]}</th></tr>"
            f"{rows}</table>")


def _declared_table(report: Report) -> str:
    """The files that declare generative AI or carry a manifest broken after signing (up to ``top``); empty if none."""
    from detector.outputs.html import badge

    declared = report.declared()
    if not declared:
        return ""
    e = html.escape
    rows = []
    for f in declared[:report.top]:
        block = (f.result or {}).get("provenance") or {}
        state = (f"<b class=provenance-warning>{e(f.provenance or '')}</b>" if f.provenance == "invalid_signature"
                 else e(f.provenance or ""))
        rows.append(f"<tr><td>{state}</td><td>{e(block.get('declared_by') or '')}</td>"
                    f"<td>{e(block.get('generator') or '')}</td><td>{badge(f.verdict) if f.verdict else ''}</td>"
                    f"<td><code>{e(f.path)}</code></td></tr>")
    more = f" ({len(declared) - report.top} more in the csv and jsonl reports)" if len(declared) > report.top else ""
    return (f"<h2>Files that declare generative AI, or whose Content Credentials were broken ({len(declared)}{more})"
            "</h2><table><tr><th>provenance</th><th>declared by</th><th>generator</th><th>verdict</th><th>file</th></tr>"
            + "".join(rows) + "</table>")


def write_html(report: Report, out: TextIO) -> None:
    from detector.outputs.html import badge, kind_label, page
    from detector.outputs.report import trust_panel
    from detector.results import ModelInfo

    s = report.summary()
    model = s["analysis"]["model"]
    e = html.escape
    parts = [
        "<h1>deepfake audit report</h1>",
        (f"<p>Ledger <code>{e(report.ledger)}</code>; model <b>{e(model['name'])} {e(model['version'])}</b> "
         f"(<code>{e(model['sha256'][:12])}</code>), settings <code>{e(json.dumps(s['analysis']['settings']))}"
         f"</code>; {e(s['scope'])}"
         + (f"; only files of the kind <b>{e(report.kind)}</b>" if report.kind else "")
         + (f"; only files whose provenance is <b>{e(report.provenance)}</b>" if report.provenance else "")
         + f"; generated {e(datetime.now(UTC).isoformat(timespec='seconds'))}.</p>"),
        # Before any result: how far the model's verdicts can be trusted, from its card (escaped there).
        trust_panel(report.card, model=ModelInfo(model["name"], model["version"], model["sha256"])),
        (f"<p>{s['files']} files, {s['unique_contents']} distinct media contents, {s['duplicates']} duplicates "
         "(scanned once).</p>"),
        _table("Files by status", s["by_status"]),
        _table("Files by verdict", s["by_verdict"]),
        # Only for a model with a kind head (it names one for every fake and uncertain file).
        *([_table("Fake and uncertain files by kind of fake", s["by_kind"])] if s["by_kind"] else []),
        # What the files declare about where they came from (results stored before provenance was read: none).
        *([_table("Files by provenance", s["by_provenance"])] if s["by_provenance"] else []),
        _declared_table(report),
        f"<h2>Most suspicious (top {report.top})</h2>",
    ]
    top = report.top_suspicious()
    if top:
        parts.append("<table><tr><th>face</th><th>P(fake)</th><th>verdict</th><th>reasons</th><th>persons</th>"
                     "<th>file</th></tr>")
        for f in top:
            jpeg = report.thumbnails.get(f.content_sha256 or "")
            img = (f"<img class=thumb alt='most suspicious face' "
                   f"src='data:image/jpeg;base64,{base64.b64encode(jpeg).decode()}'>" if jpeg else "")
            reasons = ", ".join(f.result["reasons"]) if f.result else ""
            persons = len(f.result["tracks"]) if f.result else 0
            parts.append(f"<tr><td>{img}</td><td class=num>{f.fake_probability:.3f}</td>"
                         f"<td>{badge(f.verdict) if f.verdict else ''}"
                         f"{kind_label(f.kind, f.result.get('kind_probability') if f.result else None)}</td>"
                         f"<td>{e(reasons)}</td>"
                         f"<td class=num>{persons}</td><td><code>{e(f.path)}</code></td></tr>")
        parts.append("</table>")
    else:
        parts.append("<p>none</p>")
    parts.append(_table("Errors by code", s["errors_by_code"]))
    errors = [f for f in report.files if f.status == "error"]
    if errors:
        items = "".join(f"<li><code>{e(f.path)}</code>: {e(f.error_code or '')} — {e(f.error_message or '')}</li>"
                        for f in errors)
        parts.append(f"<details><summary>{len(errors)} failed files</summary><ul>{items}</ul></details>")
    parts.append(_table("Skipped", s["skipped_by_reason"]))
    t = s["throughput"]
    rate = "-" if t["files_per_second"] is None else f"{t['files_per_second']:.2f}"
    parts.append(f"<h2>Throughput</h2><p>{t['scanned']} files scanned in {t['scan_seconds']:.1f} s: "
                 f"{rate} files/s.</p><table><tr><th>run</th><th>started</th><th>status</th><th>engine</th>"
                 "<th>workers</th><th>files seen</th><th>scanned</th><th>seconds</th><th>files/s</th></tr>")
    for r in report.runs:
        parts.append(f"<tr><td class=num>{r.id}</td><td>{e(r.started_at)}</td><td>{e(r.status)}</td><td>{e(r.engine)}"
                     f"</td><td class=num>{r.workers}</td><td class=num>{r.files_seen}</td><td class=num>{r.scanned}</td>"
                     f"<td class=num>{r.scan_seconds:.1f}</td><td class=num>"
                     f"{'-' if r.rate is None else f'{r.rate:.2f}'}</td></tr>")
    parts.append("</table>")
    integrity = report.integrity
    parts.append("<h2>Ledger integrity</h2><p>" + ("ok" if integrity.ok else "<b>problems:</b> " +
                                                   e("; ".join(integrity.problems))) + "</p>")
    out.write(page("deepfake audit report", parts))


WRITERS = {"csv": write_csv, "jsonl": write_jsonl, "html": write_html}


def render(report: Report, fmt: str) -> str:
    buffer = io.StringIO()
    WRITERS[fmt](report, buffer)
    return buffer.getvalue()
