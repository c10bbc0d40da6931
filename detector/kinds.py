"""The kinds of fake the detector names, one vocabulary for the model's kind head, the verdict and training.

* ``swap``: another person's face put onto the footage (autoencoder swaps, DeepFaceLive, inswapper, SimSwap);
  self-blended training fakes are swaps too, their artefact is the blend boundary.
* ``reenactment``: the person's own face driven to move or speak as they did not (talking heads from one photo,
  face reenactment, lip-sync).
* ``synthetic``: a face generated whole (GANs, diffusion models); no real person was filmed.

The order is the order of the model's ``kind_logits`` output.
"""

from __future__ import annotations

SWAP, REENACTMENT, SYNTHETIC = "swap", "reenactment", "synthetic"
FAKE_KINDS: tuple[str, ...] = (SWAP, REENACTMENT, SYNTHETIC)
