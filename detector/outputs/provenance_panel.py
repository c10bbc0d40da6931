"""The provenance panel of the HTML scan report: what a file declares about where it came from
(:mod:`detector.provenance`), beside what the pixels said.

One panel per file: the state in one word and what it means for the verdict, who declared it, the generator, the
digital source type, the C2PA manifest's signer, claim generator, signing time, validation state and failure codes,
its actions with their digital source types, its ingredients, every statement read (source, field, value) and the
problems met. A manifest broken after signing (``invalid_signature``) is shown first and in its own colour: it is
the one state that says someone altered the file after it was signed.

Every string here but the fixed wording comes from the file's own bytes (a signer's name, a generator's parameters,
an XMP field), so it is hostile by default: all of it is HTML-escaped, and the page's Content-Security-Policy
(:mod:`detector.outputs.html`) would stop anything that got through from loading or running.
"""

from __future__ import annotations

from html import escape

from ..provenance.result import Manifest, Provenance
from ..provenance.source_types import term

# What each state means for the reader, in the judge's terms (detector/judge.py, rules 8 and 9).
STATE_TEXT = {
    "invalid_signature": ("the file's C2PA manifest was broken after signing: the pixels or the claim changed, or the "
                          "manifest is truncated or cannot be parsed. The verdict is the pixels'; treat the file's "
                          "claims about its origin as void"),
    "declared_synthetic": "the file declares that a generative model made it: the verdict is fake whatever the pixels say",
    "declared_edited_with_ai": ("the file declares that a generative model made part of it: the verdict is fake "
                                "whatever the pixels say"),
    "generator_metadata": ("the file carries the parameters of an image generator front-end (unsigned): the verdict "
                           "is fake whatever the pixels say"),
    "signed_capture": ("an intact C2PA manifest says a camera captured it. Context only: a signature can be copied "
                       "onto other pixels, so it never turns a fake into real"),
    "signed_other": "an intact C2PA manifest that declares neither a capture nor generative AI. Context only",
    "unreadable": ("some metadata could not be read (see the problems), so nothing can be concluded from it; that "
                   "does not mean the file is clean"),
    "none": ("the file declares nothing about where it came from. Most media are stripped of metadata on the way, so "
             "this says nothing either way"),
}

DECLARED_BY_TEXT = {"c2pa": "a C2PA manifest (signed)", "iptc": "an IPTC digital source type in XMP (unsigned)",
                    "generator": "a generator front-end's parameters (unsigned)"}


def provenance_panel(provenance: Provenance | None) -> str:
    """The panel of one file's provenance as an HTML fragment; empty when none was read (decoded frames, a path that
    could not be opened)."""
    if provenance is None:
        return ""
    p = provenance
    state = escape(p.state)
    invalid = p.state == "invalid_signature"
    heading = f"<h3>Provenance: <code>{state}</code></h3><p>{escape(STATE_TEXT[p.state])}.</p>"
    if p.state == "none" and not p.evidence and not p.problems:  # the common case: one line, no empty tables
        return f"<div class=\"provenance p-none\">{heading}</div>"
    parts = [f"<div class=\"provenance p-{state}{' provenance-invalid' if invalid else ''}\">", heading]
    if invalid:
        failures = ", ".join(p.manifest.failures) if p.manifest is not None and p.manifest.failures else "none named"
        parts.append(f"<p class=\"provenance-warning\"><b>Content Credentials broken after signing.</b> "
                     f"Failure codes: <code>{escape(failures)}</code>.</p>")
    facts = [("declared by", DECLARED_BY_TEXT.get(p.declared_by or "")), ("generator", p.generator),
             ("digital source type", p.digital_source_type)]
    if p.manifest is not None:
        facts += _manifest_facts(p.manifest)
    rows = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in facts if v)
    if rows:
        parts.append(f"<table class=\"provenance-facts\"><tbody>{rows}</tbody></table>")
    if p.manifest is not None and p.manifest.actions:
        parts.append(_actions_table(p.manifest))
    if p.evidence:
        statements = "".join(f"<tr><td>{escape(e.source)}</td><td><code>{escape(e.field)}</code></td>"
                             f"<td>{escape(e.value)}</td></tr>" for e in p.evidence)
        parts.append(f"<details><summary>{len(p.evidence)} statement(s) read from the file</summary>"
                     "<table class=\"provenance-evidence\"><thead><tr><th>source</th><th>field</th><th>value</th>"
                     f"</tr></thead><tbody>{statements}</tbody></table></details>")
    if p.problems:
        problems = "".join(f"<li><code>{escape(x.code)}</code>: {escape(x.message)}</li>" for x in p.problems)
        parts.append(f"<p>Could not be read:</p><ul class=\"provenance-problems\">{problems}</ul>")
    parts.append("</div>")
    return "".join(parts)


def _manifest_facts(m: Manifest) -> list[tuple[str, str | None]]:
    # "intact" is this library's reading of the failure codes: trust-only failures (no C2PA trust list is loaded
    # here, so every signer is "untrusted") leave a manifest intact, which c2pa's own validation state does not say.
    intact = "yes" if m.intact else "no: the bytes or the claim changed after signing"
    return [("signer", m.signer), ("claim generator", m.claim_generator), ("signed at", m.signed_at),
            ("validation state", m.validation_state), ("intact", intact),
            ("validation codes", ", ".join(m.failures) or None), ("ingredients", ", ".join(m.ingredients) or None)]


def _actions_table(m: Manifest) -> str:
    rows = "".join(f"<tr><td>{escape(a.manifest)}</td><td><code>{escape(a.action)}</code></td>"
                   f"<td>{escape(a.software_agent or '–')}</td>"
                   f"<td>{escape(term(a.digital_source_type) if a.digital_source_type else '–')}</td>"
                   f"<td>{escape(a.description or '')}</td></tr>" for a in m.actions)
    return ("<table class=\"provenance-actions\"><thead><tr><th>manifest</th><th>action</th><th>software agent</th>"
            f"<th>digital source type</th><th>description</th></tr></thead><tbody>{rows}</tbody></table>")
