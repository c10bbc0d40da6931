"""The original "deepfakes" face swap (2017): one shared encoder, one decoder per identity.

An autoencoder is trained on aligned face crops of two people, A and B. The encoder is shared, so it
has to describe both faces in the same terms (pose, expression, lighting); each decoder learns to paint
its own person from that description. Swapping A to B is then: encode a face of A, decode it with B's
decoder. Inputs are randomly warped during training while the targets are not, so the decoders learn
to produce a clean face from a distorted description, which is what they get at swap time.

The networks are in :mod:`.model` (their sizes and where they come from), training in :mod:`.train`
(L1 reconstruction loss, Adam: lr 5e-5, beta1 0.5 in the original).

The swap puts the decoded face back into the frame the way the original tool did: Reinhard colour
transfer (mean and standard deviation in LAB) onto the target face, the inverse of the alignment
transform, and a soft mask (an ellipse fitted to the five landmarks, shrunk and blurred) so the seam
fades out. That seam, the colour mismatch and the low-resolution, slightly blurry inner face are the
traces a detector learns from these fakes.

Faces come from the inference face stage (:mod:`detector.faces`): detection, tracking and landmarks are
the same as at test time; the crops use a tighter margin (0.15) than the classifier's 0.3 because only
the inner face is swapped.

Modules: :mod:`.config` (settings), :mod:`.model` (networks), :mod:`.train` (augmentation and loop),
:mod:`.data` (training crops), :mod:`.checkpoint` (save/load), :mod:`.blend` (one face back into its frame),
:mod:`.swap` (a whole video), :mod:`.cli` (``deepfake synth ae-swap``).
"""

from .blend import crop_mask, reinhard_transfer, swap_frame
from .checkpoint import load_model, save_model
from .cli import get_args_parser, main, preview_grid
from .config import AESwapConfig, Direction
from .data import collect_crops
from .model import AESwapModel, Decoder, Encoder, build_model
from .swap import SwapVideoResult, swap_video
from .train import LossRecord, train_autoencoder, warp_batch

__all__ = [
    "AESwapConfig", "AESwapModel", "Decoder", "Direction", "Encoder", "LossRecord", "SwapVideoResult", "build_model",
    "collect_crops", "crop_mask", "get_args_parser", "load_model", "main", "preview_grid", "reinhard_transfer",
    "save_model", "swap_frame", "swap_video", "train_autoencoder", "warp_batch",
]
