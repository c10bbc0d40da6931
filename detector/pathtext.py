"""File paths in JSON: valid UTF-8 always, and mapped back to the exact file name.

Linux file names are bytes. Python decodes a name that is not UTF-8 with ``surrogateescape``: each byte that does not
decode becomes a lone surrogate U+DC80..U+DCFF. JSON can carry ``"\\udcff"``, but it is not valid Unicode text, and
strict readers (``jq``, most languages' decoders) turn it into U+FFFD, after which the name cannot be found again.

:func:`path_to_text` writes each surrogate as the six characters ``\\udcff`` instead, so the JSON is valid UTF-8 and
every reader shows the same string. A name that already contains such text (a backslash, then ``u``, ``d``, a hex digit
from 8 to f and two hex digits, all lower case) gets the backslashes before it doubled, the way a regular expression
escapes them, so no two file names share a text: :func:`path_from_text` undoes it exactly. Every other name, and so
every UTF-8 name without that rare text, is written unchanged: the result's ``path`` keeps its type and its meaning
(JSON schema unchanged).

>>> import os
>>> text = path_to_text(os.fsdecode(b"caf\\xe9.jpg"))
>>> text
'caf\\\\udce9.jpg'
>>> os.fsencode(path_from_text(text))
b'caf\\xe9.jpg'
"""

from __future__ import annotations

import re

# A run of backslashes, then either a lone surrogate or text that reads like the escape of one.
_ENCODE = re.compile(r"(\\*)([\ud800-\udfff]|ud[89a-f][0-9a-f]{2})")
# A run of at least one backslash, then the text of an escaped surrogate.
_DECODE = re.compile(r"(\\+)(ud[89a-f][0-9a-f]{2})")


def path_to_text(path: str) -> str:
    """``path`` (as ``os.fsdecode`` gives it) as valid Unicode text, reversibly (see the module docstring)."""
    if path.isascii() and "\\" not in path:
        return path  # no surrogate and no backslash: nothing to escape (the common case)
    return _ENCODE.sub(_encode_one, path)


def _encode_one(match: re.Match[str]) -> str:
    slashes, what = match.groups()
    if len(what) == 1:  # a lone surrogate: an odd run of backslashes marks the escape
        return slashes * 2 + f"\\u{ord(what):04x}"
    return slashes * 2 + what  # the escape's text in a real name: an even run keeps it literal


def path_from_text(text: str) -> str:
    """The path :func:`path_to_text` wrote ``text`` for (``os.fsencode`` of it is the file name's bytes)."""
    return _DECODE.sub(_decode_one, text)


def _decode_one(match: re.Match[str]) -> str:
    slashes, what = match.groups()
    kept = "\\" * (len(slashes) // 2)
    return kept + chr(int(what[1:], 16)) if len(slashes) % 2 else kept + what
