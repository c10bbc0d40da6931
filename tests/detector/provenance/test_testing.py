"""The throwaway signing identity: its chain signs a C2PA manifest that reads back signed and untrusted, and every
call makes a new key (nothing fixed that could leak into a trust list)."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from detector.provenance import read_provenance
from detector.provenance.testing import make_signing_identity

pytest.importorskip("c2pa")


def test_identity_signs_a_manifest_that_reads_back(tmp_path, photo_jpeg) -> None:
    import c2pa

    identity = make_signing_identity("layout test")
    signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, identity.chain_pem,
                                                       identity.key_pem, None))
    action = {"action": "c2pa.created",
              "digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"}
    builder = c2pa.Builder({"claim_generator_info": [{"name": "test", "version": "1"}], "title": "photo",
                            "assertions": [{"label": "c2pa.actions.v2", "data": {"actions": [action]}}]})
    out = io.BytesIO()
    builder.sign(signer, "image/jpeg", io.BytesIO(photo_jpeg), out)
    signer.close()
    path = tmp_path / "signed.jpg"
    path.write_bytes(out.getvalue())
    Image.open(path).verify()  # still a JPEG
    result = read_provenance(path)
    assert (result.state, result.declared_by) == ("signed_capture", "c2pa"), result


def test_every_identity_is_new() -> None:
    first, second = make_signing_identity("a"), make_signing_identity("a")
    assert first.key_pem != second.key_pem and first.chain_pem != second.chain_pem
    assert first.chain_pem.count(b"BEGIN CERTIFICATE") == 2
