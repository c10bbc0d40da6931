"""Fixtures of the provenance tests, all made here: a test certificate authority and signing certificate generated at
test time (no private key is committed anywhere), C2PA-signed images made with c2pa-python's Builder, and images
carrying EXIF, XMP and PNG text written with Pillow."""

from __future__ import annotations

import datetime
import io
from collections.abc import Callable

import numpy as np
import pytest


@pytest.fixture(scope="session")
def signing_pem() -> tuple[bytes, bytes]:
    """(certificate chain, private key) in PEM: a leaf with the usages C2PA wants, issued by a CA made here."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn),
                          x509.NameAttribute(NameOID.ORGANIZATION_NAME, "deepfake-detector tests")])

    def usage(*, sign: bool) -> x509.KeyUsage:
        return x509.KeyUsage(digital_signature=not sign, content_commitment=False, key_encipherment=False,
                             data_encipherment=False, key_agreement=False, key_cert_sign=sign, crl_sign=sign,
                             encipher_only=False, decipher_only=False)

    now = datetime.datetime.now(datetime.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(name("Test CA")).issuer_name(name("Test CA"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(usage(sign=True), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    leaf = (x509.CertificateBuilder().subject_name(name("Test Signer")).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(usage(sign=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    chain = leaf.public_bytes(pem) + ca.public_bytes(pem)
    return chain, key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


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
