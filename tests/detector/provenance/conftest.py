"""Fixtures of the provenance tests, all made here: a test certificate authority and signing certificate generated at
test time (no private key is committed anywhere), C2PA-signed images made with c2pa-python's Builder, and images
carrying EXIF, XMP and PNG text written with Pillow."""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
import pytest

from detector.provenance.testing import make_signing_identity


@pytest.fixture(scope="session")
def signing_pem() -> tuple[bytes, bytes]:
    """(certificate chain, private key) in PEM: a leaf with the usages C2PA wants, issued by a CA made here."""
    identity = make_signing_identity("deepfake-detector tests")
    return identity.chain_pem, identity.key_pem


@pytest.fixture(scope="session")
def photo_jpeg(astronaut: np.ndarray) -> bytes:
    """A 256 px JPEG of the astronaut, no metadata."""
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(astronaut).resize((256, 256)).save(out, "JPEG", quality=90)
    return out.getvalue()


@pytest.fixture(scope="session")
def sign(signing_pem: tuple[bytes, bytes]) -> Callable[..., bytes]:
    """``sign(data, mime, actions, ingredients=())`` -> the bytes signed with a C2PA manifest holding ``actions``
    (dicts of a ``c2pa.actions.v2`` assertion) and ``ingredients``: ``(relationship, title, signed bytes, mime)``."""
    import c2pa

    def _sign(data: bytes, mime: str, actions: list[dict], ingredients: tuple = ()) -> bytes:
        chain, key = signing_pem
        signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, chain, key, None))
        manifest = {"claim_generator_info": [{"name": "deepfake-detector tests", "version": "1"}], "title": "test",
                    "assertions": [{"label": "c2pa.actions.v2", "data": {"actions": actions}}]}
        # Not checked after signing, so that manifests of older writers (a created action without a digital source
        # type, as Microsoft's 2023-24 ones) can be made; the reader still validates everything.
        context = c2pa.Context(c2pa.Settings.from_dict({"verify": {"verify_after_sign": False}}))
        builder = c2pa.Builder(manifest, context=context)
        for relationship, title, ingredient, ingredient_mime in ingredients:
            # The label is what an action's ``ingredientIds`` names (c2pa.opened and c2pa.placed must name one).
            builder.add_ingredient({"title": title, "relationship": relationship, "label": title}, ingredient_mime,
                                   io.BytesIO(ingredient))
        out = io.BytesIO()
        builder.sign(signer, mime, io.BytesIO(data), out)
        signer.close()
        context.close()
        return out.getvalue()

    return _sign
