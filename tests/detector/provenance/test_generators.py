"""Each generator front-end's parameters are recognised by their shape, and look-alikes are not."""

from __future__ import annotations

import json

import pytest

from detector.provenance.generators import find_generators

A1111 = "masterpiece, 1girl\nNegative prompt: lowres\nSteps: 28, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 512x512"


@pytest.mark.parametrize(("texts", "generator", "field"), [
    ({"png/parameters": A1111}, "AUTOMATIC1111", "png/parameters"),
    ({"exif/UserComment": A1111}, "AUTOMATIC1111", "exif/UserComment"),
    ({"png/prompt": json.dumps({"3": {"class_type": "KSampler", "inputs": {"seed": 1}}})}, "ComfyUI", "png/prompt"),
    ({"png/workflow": json.dumps({"last_node_id": 1, "nodes": [{"id": 1, "type": "KSampler"}]})}, "ComfyUI",
     "png/workflow"),
    ({"png/invokeai_metadata": json.dumps({"generation_mode": "txt2img"})}, "InvokeAI", "png/invokeai_metadata"),
    ({"png/sd-metadata": json.dumps({"app_id": "invoke-ai/InvokeAI", "model": "sd"})}, "InvokeAI", "png/sd-metadata"),
    ({"png/Dream": '"a cat" -s 50 -S 2980747362 -W 512 -H 768'}, "InvokeAI", "png/Dream"),
    ({"png/parameters": json.dumps({"prompt": "a cat", "version": "Fooocus v2.4.3"})}, "Fooocus", "png/parameters"),
    ({"png/parameters": json.dumps({"prompt": "a cat"}), "png/fooocus_scheme": "fooocus"}, "Fooocus",
     "png/parameters"),
    ({"png/Software": "NovelAI", "png/Comment": json.dumps({"steps": 28, "prompt": "a cat"})}, "NovelAI",
     "png/Comment"),
])
def test_each_front_end(texts, generator, field):
    found = find_generators(texts)
    assert [(name, e.field) for name, e in found] == [(generator, field)]


def test_the_a1111_evidence_is_its_settings_line():
    (_, evidence), = find_generators({"png/parameters": A1111})
    assert evidence.value == "Steps: 28, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 512x512"
    assert evidence.source == "png_text"


@pytest.mark.parametrize("texts", [
    {"png/parameters": "exposure +0.3, contrast 5"},  # an editor's note under the same name
    {"png/prompt": "remember to crop"},
    {"png/prompt": json.dumps({"note": {"kind": "text"}})},  # JSON, but no graph of nodes
    {"png/workflow": json.dumps({"nodes": "none"})},
    {"png/sd-metadata": json.dumps({"model": "x"})},
    {"png/Dream": "a dream diary entry"},
    {"png/Software": "NovelAI"},  # no settings
    {"png/Comment": json.dumps({"steps": 3})},  # settings, but not from NovelAI
    {"png/parameters": "[" * 100_000},  # deeper than the JSON parser's stack
    {"png/Title": A1111},  # the settings under a name no front-end uses
])
def test_look_alikes_are_not_generators(texts):
    assert find_generators(texts) == []
