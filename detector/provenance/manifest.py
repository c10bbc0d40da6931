"""C2PA Content Credentials, read and validated by the Content Authenticity Initiative's own library (``c2pa-python``).

:func:`read_manifest` gives what the active manifest and its ingredients declare (the strongest of AI-generated, edited
with AI, captured) and whether the chain is intact. Trust is not the question here: no C2PA trust list is loaded, so
every signer is "untrusted" to the library, and a certificate's trust problems (untrusted, expired, missing a usage
the C2PA profile wants) say who signed, not that anything changed after signing. Any other failure (a hash or
claim-signature mismatch, a missing or malformed part) makes the manifest not intact.

The reader never goes to the network: remote manifests and OCSP are not fetched (a scan must not tell a server which
file it is looking at).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from typing import Any, BinaryIO

from .result import (
    MANIFEST_MALFORMED,
    MANIFEST_TOO_LARGE,
    MAX_ITEMS,
    PROVENANCE_UNAVAILABLE,
    Action,
    Evidence,
    Manifest,
    Problem,
    clip,
)
from .source_types import AI_EDIT, CAPTURE, SYNTHETIC, SourceCategory, category, term

# A manifest report (c2pa's JSON of the whole store) over this is not parsed: real ones are tens of KiB (thumbnails
# are resources, not in the report), and a store of thousands of assertions is an attack on whoever reads it.
MAX_MANIFEST_JSON = 4 << 20
# Failure codes that are about the signer's credentials or the timestamp, not about the bytes (see the module doc).
_TRUST_PREFIXES = ("signingCredential.", "timeStamp.", "cawg.")
_TRUST_CODES = frozenset({"claimSignature.outsideValidity"})
# Manifests written before generators used digital source types (Microsoft's 2023-24 Image Creator) say it in the
# creating action's description only.
_AI_DESCRIPTION = re.compile(r"\bAI[- ]generated\b|\bgenerated (?:by|with) AI\b", re.IGNORECASE)
# Every embedded C2PA manifest store starts with a JUMBF description box ("jumd") whose UUID begins with "c2pa".
_STORE_MARKER = b"jumdc2pa"
_SETTINGS = {"verify": {"remote_manifest_fetch": False, "ocsp_fetch": False}}


@dataclass(frozen=True)
class ManifestFindings:
    """What :func:`read_manifest` found: the manifest (``None``: the file has none), what it declares (the strongest
    category over the active manifest and its ingredients, with the action and manifest that said it), and problems."""

    manifest: Manifest | None = None
    declared: SourceCategory | None = None
    generator: str | None = None
    digital_source_type: str | None = None
    evidence: tuple[Evidence, ...] = ()
    problems: tuple[Problem, ...] = ()


def read_manifest(path: str | os.PathLike[str]) -> ManifestFindings:
    """The C2PA manifest of the file at ``path`` (format from its bytes, not its name). Never raises for what the
    file holds: a store that cannot be parsed is ``manifest_malformed`` (with a not-intact manifest), an oversized
    report ``manifest_too_large``, a missing library ``provenance_unavailable``."""
    try:
        import c2pa
    except (ImportError, OSError) as exc:  # OSError: the wheel is there but its native library does not load
        return ManifestFindings(problems=(Problem(PROVENANCE_UNAVAILABLE, f"c2pa-python cannot be loaded ({exc}): "
                                                  "C2PA manifests not read"),))
    with open(path, "rb") as stream:
        try:
            report = _report(c2pa, stream)
        except c2pa.C2paError as exc:
            # NotSupported: a format c2pa does not read (BMP, say). Other errors with no store in the file are about
            # the asset (a truncated PNG), which the pixel stage reports; with a store, the manifest is broken.
            if isinstance(exc, c2pa.C2paError.NotSupported) or not _has_store(stream):
                return ManifestFindings()
            broken = Manifest(None, None, None, None, intact=False)
            problem = Problem(MANIFEST_MALFORMED, clip(f"{type(exc).__name__}: {exc}"))
            return ManifestFindings(broken, problems=(problem,))
    if report is None:
        return ManifestFindings()
    if len(report) > MAX_MANIFEST_JSON:
        return ManifestFindings(problems=(Problem(MANIFEST_TOO_LARGE, f"C2PA manifest report of {len(report)} "
                                                  f"characters (limit {MAX_MANIFEST_JSON}): not read"),))
    try:
        store = json.loads(report)
        return _findings(store)
    except (ValueError, RecursionError, TypeError, KeyError, AttributeError) as exc:
        # The library's own report of a store it parsed: a shape we do not expect is ours to report, not to crash on.
        broken = Manifest(None, None, None, None, intact=False)
        return ManifestFindings(broken, problems=(Problem(MANIFEST_MALFORMED,
                                                          clip(f"unexpected manifest report: {exc!r}")),))


def _report(c2pa: Any, stream: BinaryIO) -> str | None:
    settings = c2pa.Settings.from_dict(_SETTINGS)
    # A context per call: cheap (0.2 ms), and nothing native is shared across threads or forked processes.
    context = c2pa.Context(settings)
    try:
        reader = c2pa.Reader.try_create(None, stream, context=context)
        if reader is None:
            return None
        try:
            return reader.json()
        finally:
            reader.close()
    finally:
        context.close()
        settings.close()


def _has_store(stream: BinaryIO, chunk: int = 1 << 20) -> bool:
    """Whether the bytes hold a C2PA manifest store (its JUMBF marker), read in chunks that overlap by the marker."""
    stream.seek(0)
    tail = b""
    while block := stream.read(chunk):
        if _STORE_MARKER in tail + block:
            return True
        tail = block[-len(_STORE_MARKER):]
    return False


def integrity_failures(codes: list[str]) -> list[str]:
    """The failure codes that say the bytes or the claim changed (everything but trust and timestamp codes)."""
    return [c for c in codes if not c.startswith(_TRUST_PREFIXES) and c not in _TRUST_CODES]


def _findings(store: dict[str, Any]) -> ManifestFindings:
    manifests: dict[str, Any] = store.get("manifests") or {}
    active_label = store.get("active_manifest")
    active = manifests.get(active_label) or {}
    failures = _failure_codes(store)
    actions: list[Action] = []
    declaration = _declaration(manifests, active_label, "active", actions, seen=set())
    info = active.get("signature_info") or {}
    signer = info.get("issuer") or info.get("common_name")
    if info.get("issuer") and info.get("common_name") and info["common_name"] != info["issuer"]:
        signer = f"{info['issuer']} ({info['common_name']})"
    manifest = Manifest(
        claim_generator=_claim_generator(active), signer=None if signer is None else clip(signer),
        signed_at=info.get("time"), validation_state=store.get("validation_state"),
        intact=not integrity_failures(failures), failures=tuple(clip(c) for c in failures[:MAX_ITEMS]),
        actions=tuple(actions[:MAX_ITEMS]),
        ingredients=tuple(clip(f"{i.get('relationship', '?')}:{i.get('title', '?')}")
                          for i in (active.get("ingredients") or [])[:MAX_ITEMS]))
    if declaration is None:
        return ManifestFindings(manifest)
    kind, action, declaring = declaration
    generator = action.software_agent or _claim_generator(declaring)
    said = action.digital_source_type or action.description or ""
    evidence = Evidence("c2pa", f"c2pa/{action.manifest}/{action.action}/"
                        f"{'digitalSourceType' if action.digital_source_type else 'description'}", clip(said))
    return ManifestFindings(manifest, kind, generator, None if action.digital_source_type is None
                            else term(action.digital_source_type), (evidence,))


def _failure_codes(store: dict[str, Any]) -> list[str]:
    results = store.get("validation_results")
    if isinstance(results, dict):
        entries = list((results.get("activeManifest") or {}).get("failure") or [])
        for delta in results.get("ingredientDeltas") or []:
            entries += (delta.get("validationDeltas") or {}).get("failure") or []
    else:  # reports of older libraries: one flat list of failures
        entries = list(store.get("validation_status") or [])
    codes = [str(e.get("code")) for e in entries if isinstance(e, dict)]
    return list(dict.fromkeys(codes))


_RANK = {SYNTHETIC: 3, AI_EDIT: 2, CAPTURE: 1}


def _declaration(manifests: dict[str, Any], label: str | None, where: str, actions: list[Action],
                 seen: set[str]) -> tuple[SourceCategory, Action, dict[str, Any]] | None:
    """What the manifest ``label`` and its ingredients declare, strongest first, with the action that declared it.

    An ingredient the asset was made *from* (``parentOf``) passes on what it was: a generated image cropped or
    re-encoded stays generated. One pasted *into* it (``componentOf``) that was generated makes the asset edited
    with AI, not generated. A capture counts only as the asset's own creating action: an edited capture is no longer
    one. ``seen`` stops loops in a hostile store; ``actions`` collects every action read, for the summary. Returns the
    category, the action that declared it and the manifest that holds the action.
    """
    if label is None or label in seen or len(seen) >= MAX_ITEMS or label not in manifests:
        return None
    seen.add(label)
    manifest = manifests[label]
    found: list[tuple[SourceCategory, Action, dict[str, Any]]] = []
    for action in _actions(manifest, where):
        actions.append(action)
        kind = category(action.digital_source_type)
        if kind is None and action.action == "c2pa.created" and action.description \
                and _AI_DESCRIPTION.search(action.description):
            kind = SYNTHETIC
        if kind == CAPTURE and (where != "active" or action.action != "c2pa.created"):
            continue
        if kind is not None:
            found.append((kind, action, manifest))
    for ingredient in (manifest.get("ingredients") or [])[:MAX_ITEMS]:
        relationship = ingredient.get("relationship")
        if relationship not in ("parentOf", "componentOf"):
            continue
        inner = _declaration(manifests, ingredient.get("active_manifest"),
                             clip(f"{relationship}:{ingredient.get('title', '?')}"), actions, seen)
        if inner is None or inner[0] == CAPTURE:
            continue
        found.append(inner if relationship == "parentOf" or inner[0] == AI_EDIT else (AI_EDIT, *inner[1:]))
    return max(found, key=lambda f: _RANK[f[0]], default=None)


def _actions(manifest: dict[str, Any], where: str) -> list[Action]:
    out = []
    for assertion in manifest.get("assertions") or []:
        if not str(assertion.get("label", "")).startswith("c2pa.actions"):
            continue
        for raw in ((assertion.get("data") or {}).get("actions") or [])[:MAX_ITEMS]:
            agent = raw.get("softwareAgent")
            if isinstance(agent, dict):  # claim version 2 writes {"name": ..., "version": ...}
                agent = agent.get("name")
            description = raw.get("description") or (raw.get("parameters") or {}).get("description")
            source = raw.get("digitalSourceType")
            out.append(Action(where, clip(raw.get("action", "?")), None if not agent else clip(agent),
                              None if not source else clip(source).strip(),
                              None if not description else clip(description)))
    return out


def _claim_generator(manifest: dict[str, Any]) -> str | None:
    infos = manifest.get("claim_generator_info") or []
    if infos and isinstance(infos[0], dict) and infos[0].get("name"):
        version = infos[0].get("version")
        return clip(f"{infos[0]['name']} {version}" if version else infos[0]["name"])
    generator = manifest.get("claim_generator")
    return None if not generator else clip(generator)
