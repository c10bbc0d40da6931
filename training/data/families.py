"""The kind of fake a training item shows (:data:`detector.kinds.FAKE_KINDS`), for the model's kind head.

Source manifests state it (their ``family`` column). Datasets that only name the manipulation get it from the
method's name: the table below covers every manipulation in ``../shared/data`` and the public benchmarks' method
names; a name it does not know is ``unknown``, and such fakes train the real/fake head but not the kind head.
"""

from __future__ import annotations

from detector.kinds import REENACTMENT, SWAP, SYNTHETIC

REAL_FAMILY = "real"
UNKNOWN = "unknown"

# Substrings of a manipulation name (lower-cased), checked in order: the first match decides. Lip-sync and
# talking heads before "swap" ("sadtalker-video-lip-sync" is no swap), "faceswap" before the GAN words.
_PATTERNS: tuple[tuple[str, str], ...] = (
    ("lip-sync", REENACTMENT), ("lipsync", REENACTMENT), ("lip_sync", REENACTMENT), ("wav2lip", REENACTMENT),
    ("talking", REENACTMENT), ("reenact", REENACTMENT), ("face2face", REENACTMENT), ("neuraltextures", REENACTMENT),
    ("sadtalker", REENACTMENT), ("megactor", REENACTMENT), ("edtalk", REENACTMENT), ("liveportrait", REENACTMENT),
    ("hyperlips", REENACTMENT), ("retalking", REENACTMENT), ("musev", REENACTMENT),
    ("swap", SWAP), ("deepfacelive", SWAP), ("deepfakes", SWAP), ("faceshifter", SWAP), ("inswapper", SWAP),
    ("simswap", SWAP), ("roop", SWAP), ("dfdc", SWAP), ("celeb-df", SWAP), ("blend", SWAP), ("motion-cosegmentation", SWAP),
    ("stylegan", SYNTHETIC), ("stable-diffusion", SYNTHETIC), ("diffusion", SYNTHETIC), ("sdxl", SYNTHETIC),
    ("midjourney", SYNTHETIC), ("dall", SYNTHETIC), ("flux", SYNTHETIC), ("progan", SYNTHETIC), ("gan", SYNTHETIC),
    ("generated", SYNTHETIC), ("thispersondoesnotexist", SYNTHETIC),
)


def family_of(manipulation: str) -> str:
    """``real`` for ``none``, else the kind of fake the method name says, else ``unknown``."""
    name = manipulation.strip().lower()
    if name == "none":
        return REAL_FAMILY
    for pattern, family in _PATTERNS:
        if pattern in name:
            return family
    return UNKNOWN
