"""A small DCGAN (Radford, Metz & Chintala, ICLR 2016) trained on real aligned face crops, sampled for GAN fakes.

Entirely synthesised faces are a different kind of fake from face swaps and self-blends: no blending boundary,
but a generator's own fingerprint (the checkerboard and spectral peaks that transposed convolutions leave,
Odena et al. 2016; Durall et al. 2020). A detector that has only seen blends misses them, so a few of these
in the training data widen what it learns. The images are low resolution (32 or 64 px); they are meant as
an extra fake class, not as photorealistic faces.

Architecture and training follow the DCGAN paper's guidelines: all-convolutional nets with strided
(transposed) convolutions instead of pooling, BatchNorm everywhere except the generator output and the
discriminator input, ReLU + Tanh in the generator, LeakyReLU(0.2) in the discriminator, weights drawn from
N(0, 0.02), Adam with lr 2e-4 and beta1 0.5. The generator uses the non-saturating loss of Goodfellow et al.
(2014): it maximises log D(G(z)) (BCE against "real" labels) rather than minimising log(1 - D(G(z))), whose
gradient vanishes early in training when D rejects every sample confidently.

Depth follows from the image size: the generator starts from a 4 x 4 map and doubles it ``log2(size / 4)``
times (halving channels each time); the discriminator mirrors it.

Modules: :mod:`.config` (settings), :mod:`.model` (networks), :mod:`.data` (real crops), :mod:`.train`
(the loop), :mod:`.sampling` (generating faces), :mod:`.checkpoint` (save/load), :mod:`.cli`
(``deepfake synth gan``).
"""

from .checkpoint import load_generator, save_generator
from .cli import get_args_parser, main
from .config import GANConfig
from .data import load_crops
from .model import Discriminator, Generator, build_models, init_dcgan_weights
from .sampling import sample
from .train import GANLogEntry, train_gan

__all__ = [
    "Discriminator", "GANConfig", "GANLogEntry", "Generator", "build_models", "get_args_parser", "init_dcgan_weights",
    "load_crops", "load_generator", "main", "sample", "save_generator", "train_gan",
]
