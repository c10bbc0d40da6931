"""Generation parameters that Stable Diffusion front-ends write into an image, recognised by their shape.

A text chunk named ``parameters`` or ``prompt`` is not enough: other software uses those names too. Each rule below
also needs the content its front-end writes (AUTOMATIC1111's ``Steps: N, Sampler: …`` settings line, a ComfyUI graph
of nodes with a ``class_type``, InvokeAI's JSON…), so a photo whose editor stored a ``prompt`` note is not called
generated. Unsigned: anyone can write or strip these; they are evidence that a generator saved the file, nothing more.

| front-end | where | what |
|-----------|-------|------|
| AUTOMATIC1111 (Forge, SD.Next) | PNG ``parameters``; EXIF ``UserComment`` | prompt, ``Steps: …, Sampler: …`` |
| ComfyUI | PNG ``prompt`` (API graph), ``workflow`` (UI graph) | JSON |
| InvokeAI | PNG ``invokeai_metadata`` (3.x+), ``sd-metadata`` (2.x), ``Dream`` (the 2.x command line) | JSON / text |
| Fooocus | PNG ``parameters`` (JSON with a Fooocus ``version``) and ``fooocus_scheme`` | JSON |
| NovelAI | PNG ``Software`` = ``NovelAI`` with a ``Comment`` JSON of the settings | JSON |
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from .result import Evidence, clip

# AUTOMATIC1111's settings line: "Steps: 28, Sampler: Euler a, CFG scale: 7, Seed: …".
_A1111_SETTINGS = re.compile(r"^Steps: \d+, .*\bSampler: ", re.MULTILINE)
# InvokeAI 2.x's "Dream" command line: a quoted prompt, then -s steps and -S seed.
_INVOKE_DREAM = re.compile(r'^".*"\s.*-s\s*\d+.*-S\s*\d+', re.DOTALL)


def find_generators(texts: Mapping[str, str]) -> list[tuple[str, Evidence]]:
    """The generator front-ends whose parameters are in ``texts`` (``png/<key>`` text chunks and
    ``exif/UserComment``), each with the field that shows it, in the order of the rules.

    >>> find_generators({"png/parameters": "a cat\\nSteps: 20, Sampler: Euler a, CFG scale: 7"})[0][0]
    'AUTOMATIC1111'
    """
    found = []
    for name, rule in _RULES:
        hit = rule(texts)
        if hit is not None:
            field, value = hit
            found.append((name, Evidence("exif" if field.startswith("exif/") else "png_text", field, clip(value))))
    return found


def _json(text: str | None) -> Any:
    if not text or text[:1] not in "{[":
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):  # not JSON, or nested deeper than the parser's stack
        return None


def _a1111(texts: Mapping[str, str]) -> tuple[str, str] | None:
    for field in ("png/parameters", "exif/UserComment"):
        match = _A1111_SETTINGS.search(texts.get(field, ""))
        if match:
            return field, texts[field][match.start():].split("\n", 1)[0]
    return None


def _comfyui(texts: Mapping[str, str]) -> tuple[str, str] | None:
    prompt = _json(texts.get("png/prompt"))
    if isinstance(prompt, dict) and any(isinstance(n, dict) and "class_type" in n for n in prompt.values()):
        return "png/prompt", texts["png/prompt"]
    workflow = _json(texts.get("png/workflow"))
    if isinstance(workflow, dict) and isinstance(workflow.get("nodes"), list):
        return "png/workflow", texts["png/workflow"]
    return None


def _invokeai(texts: Mapping[str, str]) -> tuple[str, str] | None:
    if isinstance(_json(texts.get("png/invokeai_metadata")), dict):
        return "png/invokeai_metadata", texts["png/invokeai_metadata"]
    legacy = _json(texts.get("png/sd-metadata"))
    if isinstance(legacy, dict) and ("image" in legacy or "invoke" in str(legacy.get("app_id", "")).lower()):
        return "png/sd-metadata", texts["png/sd-metadata"]
    if _INVOKE_DREAM.match(texts.get("png/Dream", "")):
        return "png/Dream", texts["png/Dream"]
    return None


def _fooocus(texts: Mapping[str, str]) -> tuple[str, str] | None:
    parameters = _json(texts.get("png/parameters"))
    if isinstance(parameters, dict) and (str(parameters.get("version", "")).startswith("Fooocus")
                                         or texts.get("png/fooocus_scheme")):
        return "png/parameters", texts["png/parameters"]
    return None


def _novelai(texts: Mapping[str, str]) -> tuple[str, str] | None:
    comment = _json(texts.get("png/Comment"))
    if texts.get("png/Software", "").strip() == "NovelAI" and isinstance(comment, dict) \
            and ("steps" in comment or "prompt" in comment):
        return "png/Comment", texts["png/Comment"]
    return None


_RULES: tuple[tuple[str, Callable[[Mapping[str, str]], tuple[str, str] | None]], ...] = (
    ("AUTOMATIC1111", _a1111), ("ComfyUI", _comfyui), ("InvokeAI", _invokeai), ("Fooocus", _fooocus),
    ("NovelAI", _novelai))
