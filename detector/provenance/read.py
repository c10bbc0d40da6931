"""The provenance stage: a file's bytes in, one :class:`~detector.provenance.result.Provenance` out.

It reads the C2PA manifest (:mod:`.manifest`), the image's EXIF, XMP and PNG text (:mod:`.embedded`) and the generator
front-ends' parameters in them (:mod:`.generators`), then names the strongest state that applies, in this order:

1. ``invalid_signature``: a C2PA manifest whose bytes or claim changed after signing, or that cannot be parsed;
2. ``declared_synthetic``: an intact C2PA manifest, else an unsigned IPTC digital source type in XMP, says a trained
   model generated it (``trainedAlgorithmicMedia``, or a generated parent it was made from);
3. ``declared_edited_with_ai``: the same sources say a trained model made part of it
   (``compositeWithTrainedAlgorithmicMedia``, or a generated component pasted in);
4. ``generator_metadata``: a generator front-end's parameters (unsigned);
5. ``signed_capture``: an intact C2PA manifest whose own creating action is a camera capture;
6. ``signed_other``: any other intact C2PA manifest (edits, conversions, no actions);
7. ``unreadable``: none of the above, and something could not be read (``problems`` say what);
8. ``none``.

Statements against interest come first: nobody gains from falsely declaring their photo generated, while a capture
claim is what a forger wants to copy onto other pixels. EXIF ``Make``/``Model``/``Software`` and ``xmp:CreatorTool``
are kept as evidence but never decide a state: anyone can write them.
"""

from __future__ import annotations

import os

from ..media.paths import check_path, read_head
from ..sniff import sniff_media
from .embedded import EmbeddedFindings, read_embedded
from .generators import find_generators
from .manifest import read_manifest
from .result import MAX_ITEMS, Provenance
from .source_types import AI_EDIT, CAPTURE, SYNTHETIC, category, term

# Formats whose metadata Pillow reads. By magic only: a signed JPEG's manifest (with its thumbnail) can push the size
# marker that ``sniff_image`` looks for past the first 64 KiB.
_IMAGE_FORMATS = frozenset({"png", "jpeg", "gif", "webp", "bmp", "tiff"})


def read_provenance(path: str | os.PathLike[str]) -> Provenance:
    """What the file at ``path`` declares about where it came from.

    Raises ``MediaError`` (``not_found``, ``empty_file``, ``permission_denied``…) when the path itself cannot be read,
    as a scan would; never for what the file holds: malformed, oversized or unreadable metadata is a ``problem`` with
    a stable code, and the rest is still read.

    Example:
        >>> read_provenance("photo.jpg").state  # doctest: +SKIP
        'none'
    """
    checked = check_path(path)
    head = read_head(checked)
    is_image = sniff_media(head) in _IMAGE_FORMATS or head[8:12] == b"WEBP"
    c2pa = read_manifest(checked)
    embedded = read_embedded(checked) if is_image else EmbeddedFindings()
    generators = find_generators(embedded.texts)
    iptc = embedded.source_type
    iptc_kind = None if iptc is None else category(iptc.value)
    evidence = [*c2pa.evidence, *([iptc] if iptc is not None else []), *(e for _, e in generators), *embedded.evidence]
    evidence_kept = tuple(dict.fromkeys(evidence))[:MAX_ITEMS]
    problems = (*c2pa.problems, *embedded.problems)
    manifest = c2pa.manifest
    tool = next((e.value for e in embedded.evidence if e.field in ("xmp/xmp:CreatorTool", "exif/Software")), None)

    def declared(state: str, by: str, generator: str | None, source_type: str | None) -> Provenance:
        return Provenance(state, by, generator, source_type, manifest,  # type: ignore[arg-type]
                          evidence_kept, problems)

    if manifest is not None and not manifest.intact:
        return Provenance("invalid_signature", None, c2pa.generator, c2pa.digital_source_type, manifest, evidence_kept,
                          problems)
    for kind, state in ((SYNTHETIC, "declared_synthetic"), (AI_EDIT, "declared_edited_with_ai")):
        if manifest is not None and c2pa.declared == kind:
            return declared(state, "c2pa", c2pa.generator, c2pa.digital_source_type)
        if iptc_kind == kind:
            assert iptc is not None
            return declared(state, "iptc", tool, term(iptc.value))
    if generators:
        return declared("generator_metadata", "generator", generators[0][0], None)
    if manifest is not None:
        generator = c2pa.generator or manifest.claim_generator
        if c2pa.declared == CAPTURE:
            return declared("signed_capture", "c2pa", generator, c2pa.digital_source_type)
        return declared("signed_other", "c2pa", generator, None)
    return Provenance("unreadable" if problems else "none", evidence=evidence_kept, problems=problems)
