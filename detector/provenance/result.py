"""What the provenance stage found in a file: a frozen :class:`Provenance`, JSON-safe through ``to_dict()``.

``state`` sums it up in one word (:data:`PROVENANCE_STATES`); ``evidence`` says which field said what;
``manifest`` is the C2PA manifest's summary when there is one; ``problems`` are the stable codes of whatever could
not be read (:data:`PROBLEM_CODES`). Nothing here is a probability: provenance is what the file *declares*, and a
declaration can be copied onto other pixels or stripped; the judge (:mod:`detector.judge`) decides what a state does
to the verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

ProvenanceState = Literal["declared_synthetic", "declared_edited_with_ai", "signed_capture", "signed_other",
                          "invalid_signature", "generator_metadata", "none", "unreadable"]
# Strongest first: when a file says several things, the first state that applies is the file's (see ``read``).
PROVENANCE_STATES: tuple[str, ...] = ("invalid_signature", "declared_synthetic", "declared_edited_with_ai",
                                      "generator_metadata", "signed_capture", "signed_other", "unreadable", "none")
# The states in which the file itself says generative AI made or changed it (the judge's declared_* reasons).
AI_DECLARED_STATES: tuple[str, ...] = ("declared_synthetic", "declared_edited_with_ai", "generator_metadata")

# Where a statement was read.
Source = Literal["c2pa", "xmp", "exif", "png_text"]

# Problem codes (stable; the README's error table lists them). None of them fails the file: the scan goes on.
PROVENANCE_UNAVAILABLE = "provenance_unavailable"  # c2pa-python or Pillow missing or failing to load
MANIFEST_MALFORMED = "manifest_malformed"  # a C2PA manifest store is there but cannot be parsed or validated
MANIFEST_TOO_LARGE = "manifest_too_large"  # a C2PA manifest report over MAX_MANIFEST_JSON: not read
METADATA_MALFORMED = "metadata_malformed"  # EXIF, XMP or PNG text that cannot be parsed
METADATA_TOO_LARGE = "metadata_too_large"  # EXIF, XMP or PNG text over the readers' limits: not read
PROBLEM_CODES: tuple[str, ...] = (PROVENANCE_UNAVAILABLE, MANIFEST_MALFORMED, MANIFEST_TOO_LARGE,
                                  METADATA_MALFORMED, METADATA_TOO_LARGE)

# Bounds on what one file can put into a result (and so into JSON lines, the audit ledger and the HTML report):
# a hostile file may carry megabytes of metadata, and no reader needs more than this to see what it says.
MAX_VALUE_CHARS = 200
MAX_ITEMS = 32


def clip(value: object) -> str:
    """A field's value as a string of at most :data:`MAX_VALUE_CHARS` characters (NULs and outer blanks removed)."""
    text = str(value).replace("\x00", "").strip()
    return text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS - 1] + "…"


@dataclass(frozen=True)
class Evidence:
    """One statement read from the file: ``field`` (where, e.g. ``xmp/Iptc4xmpExt:DigitalSourceType`` or
    ``png/parameters``) said ``value`` (clipped to :data:`MAX_VALUE_CHARS`)."""

    source: Source
    field: str
    value: str

    def to_dict(self) -> dict[str, str]:
        return {"source": self.source, "field": self.field, "value": self.value}


@dataclass(frozen=True)
class Action:
    """One action of a C2PA manifest (``c2pa.created``, ``c2pa.edited``…), with the manifest it is in
    (``active``, or ``<relationship>:<ingredient title>``)."""

    manifest: str
    action: str
    software_agent: str | None = None
    digital_source_type: str | None = None
    description: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        return {"manifest": self.manifest, "action": self.action, "software_agent": self.software_agent,
                "digital_source_type": self.digital_source_type, "description": self.description}


@dataclass(frozen=True)
class Manifest:
    """The summary of a file's C2PA manifest store.

    ``intact``: no failure code says the bytes changed after signing (hash or claim-signature mismatch, a missing or
    malformed part); failures of trust alone (an untrusted, expired or non-conforming signing certificate, a
    timestamp) leave it intact: no C2PA trust list is loaded here, so every signer is "untrusted" to the library,
    and that says who signed, not that anything was altered. ``failures``: every failure code, trust ones too.
    ``validation_state`` is c2pa's own word (``Valid``, ``Invalid``, ``Trusted``).
    """

    claim_generator: str | None
    signer: str | None
    signed_at: str | None
    validation_state: str | None
    intact: bool
    failures: tuple[str, ...] = ()
    actions: tuple[Action, ...] = ()
    ingredients: tuple[str, ...] = ()  # "<relationship>:<title>"

    def to_dict(self) -> dict[str, Any]:
        return {"claim_generator": self.claim_generator, "signer": self.signer, "signed_at": self.signed_at,
                "validation_state": self.validation_state, "intact": self.intact, "failures": list(self.failures),
                "actions": [a.to_dict() for a in self.actions], "ingredients": list(self.ingredients)}


@dataclass(frozen=True)
class Problem:
    """Something the provenance stage could not read, with a stable ``code`` (:data:`PROBLEM_CODES`)."""

    code: str
    message: str

    def __post_init__(self) -> None:
        if self.code not in PROBLEM_CODES:
            raise ValueError(f"unknown provenance problem code {self.code!r} (codes: {PROBLEM_CODES})")

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


@dataclass(frozen=True)
class Provenance:
    """What a file declares about where it came from.

    ``state``: one of :data:`PROVENANCE_STATES`. ``declared_by``: the source that decided a declared or signed state
    (``c2pa``, ``iptc`` for an unsigned IPTC digital source type in XMP, ``generator`` for a generator front-end's
    parameters), else ``None``. ``generator``: the generator or tool named by that declaration (a C2PA software agent
    or claim generator, a front-end such as ``ComfyUI``). ``digital_source_type``: the IPTC term that decided
    (``trainedAlgorithmicMedia``…). ``unreadable`` means nothing could be concluded because something could not be
    read (``problems`` say what), never that the file is clean.
    """

    state: ProvenanceState
    declared_by: Literal["c2pa", "iptc", "generator"] | None = None
    generator: str | None = None
    digital_source_type: str | None = None
    manifest: Manifest | None = None
    evidence: tuple[Evidence, ...] = ()
    problems: tuple[Problem, ...] = ()

    def __post_init__(self) -> None:
        if self.state not in PROVENANCE_STATES:
            raise ValueError(f"unknown provenance state {self.state!r} (states: {PROVENANCE_STATES})")
        if (self.declared_by is None) != (self.state in ("none", "unreadable", "invalid_signature")):
            raise ValueError(f"state {self.state} with declared_by {self.declared_by!r}")
        if self.state == "unreadable" and not self.problems:
            raise ValueError("state unreadable needs the problem that made it so")

    @property
    def ai_declared(self) -> bool:
        """Whether the file says generative AI made or changed it (unsigned statements included)."""
        return self.state in AI_DECLARED_STATES

    def to_dict(self) -> dict[str, Any]:
        return {"state": self.state, "declared_by": self.declared_by, "generator": self.generator,
                "digital_source_type": self.digital_source_type,
                "manifest": None if self.manifest is None else self.manifest.to_dict(),
                "evidence": [e.to_dict() for e in self.evidence], "problems": [p.to_dict() for p in self.problems]}
