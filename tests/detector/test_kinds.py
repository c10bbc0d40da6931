"""The one vocabulary of fake kinds: its order is the model's ``kind_logits`` order, and every place that names a
kind (card, results, JSON schema) uses it."""

from __future__ import annotations

import json
from pathlib import Path

from detector import kinds

SCHEMA = Path(kinds.__file__).resolve().parent / "schemas" / "media_result.schema.json"


def test_the_kinds_and_their_order():
    assert kinds.FAKE_KINDS == (kinds.SWAP, kinds.REENACTMENT, kinds.SYNTHETIC) == ("swap", "reenactment", "synthetic")


def test_the_json_schema_names_the_same_kinds():
    schema = json.loads(SCHEMA.read_text())
    for where in (schema["properties"], schema["properties"]["tracks"]["items"]["properties"]):
        assert where["kind"]["enum"] == [*kinds.FAKE_KINDS, None]
