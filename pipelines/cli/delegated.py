"""Commands that live elsewhere (training, audit, synth): ``deepfake NAME ARGS...`` hands ARGS to that module's own
``main``, whose parser takes them as they are.

Each delegate imports its module when it runs, so ``deepfake scan`` never loads torch; a missing extra becomes
a clear error. Registration order is the order the commands are listed in ``deepfake --help``.
"""

from __future__ import annotations

from collections.abc import Callable

# run(argv) -> exit code (None counts as 0)
Delegate = Callable[[list[str]], "int | None"]
DELEGATED: dict[str, tuple[Delegate, str]] = {}  # name -> (run, help)
SYNTH: dict[str, Delegate] = {}  # deepfake synth NAME -> run

# Top-level packages of the train extra: an ImportError naming one of them means the extra is missing.
TRAIN_EXTRA_PACKAGES = ("torch", "timm", "albumentations", "sklearn", "facenet_pytorch", "onnx", "scipy", "torchvision")


def delegated(name: str, help_text: str) -> Callable[[Delegate], Delegate]:
    """Register a delegated subcommand."""
    def register(run: Delegate) -> Delegate:
        DELEGATED[name] = (run, help_text)
        return run

    return register


def synth_command(name: str) -> Callable[[Delegate], Delegate]:
    """Register a ``deepfake synth NAME`` generator."""
    def register(run: Delegate) -> Delegate:
        SYNTH[name] = run
        return run

    return register


def run_delegated(argv: list[str]) -> int:
    """Run ``argv[0]``'s delegate on the rest; its argparse exits become return codes, not exits."""
    from detector.errors import MissingExtraError

    run = DELEGATED[argv[0]][0]
    try:
        return int(run(argv[1:]) or 0)
    except ImportError as exc:
        if exc.name and exc.name.split(".")[0] in TRAIN_EXTRA_PACKAGES:
            raise MissingExtraError(exc.name, extra="train") from exc
        raise
    except SystemExit as exc:  # their argparse: 2 on usage errors, 0 on --help
        return int(exc.code or 0)


@delegated("train", "train a classifier from a JSON config (train extra)")
def _train(argv: list[str]) -> int | None:
    from training.train import main as run

    return run(argv)


@delegated("train-default", "reproduce the bundled default model (train extra)")
def _train_default(argv: list[str]) -> int | None:
    from training.default_model import main as run

    return run(argv)


@delegated("eval", "evaluate an exported model on a labelled dataset (train extra)")
def _eval(argv: list[str]) -> int | None:
    from training.evaluate import main as run

    return run(argv)


@delegated("robustness", "accuracy under DeeperForensics-style degradations of the media (train extra)")
def _robustness(argv: list[str]) -> int | None:
    from training.robustness.cli import main as run

    return run(argv)


@delegated("attack", "white-box FGSM/PGD on the classifier's face crops, both directions (train extra)")
def _attack(argv: list[str]) -> int | None:
    from training.robustness.attack_cli import main as run

    return run(argv)


@delegated("face-evasion", "how much random noise makes the face detector miss the face: no_face (train extra)")
def _face_evasion(argv: list[str]) -> int | None:
    from training.robustness.face_evasion_cli import main as run

    return run(argv)


@delegated("export", "export a checkpoint to ONNX with its model card (train extra)")
def _export(argv: list[str]) -> int | None:
    from training.export import main as run

    return run(argv)


@delegated("quantize", "int8 copy of an exported classifier for faster CPU scans, with its drift (train extra)")
def _quantize(argv: list[str]) -> int | None:
    from training.quantize import main as run

    return run(argv)


@delegated("export-mtcnn", "re-export facenet-pytorch's MTCNN nets to ONNX (train extra)")
def _export_mtcnn(argv: list[str]) -> int | None:
    from training.mtcnn_export import main as run

    return run(argv)


@delegated("audit", "audit media archives into a resumable SQLite ledger; audit report | check")
def _audit(argv: list[str]) -> int | None:
    from pipelines.audit.cli import main as run

    return run(argv)


@delegated("synth", "make fakes: synth sbi | sbi-video | ae-swap | gan ... (ae-swap, gan: train extra)")
def _synth(argv: list[str]) -> int | None:
    from detector.errors import ConfigError

    if not argv or argv[0] not in SYNTH:
        raise ConfigError(f"usage: deepfake synth {{{','.join(SYNTH)}}} ...")
    return SYNTH[argv[0]](argv[1:])


# The order here is the order of the usage line ``deepfake synth {sbi,ae-swap,gan,sbi-video}``.
@synth_command("sbi")
def _synth_sbi(argv: list[str]) -> int | None:
    from training.synth.sbi import main as run

    return run(argv)


@synth_command("ae-swap")
def _synth_ae_swap(argv: list[str]) -> int | None:
    from training.synth.ae_swap import main as run

    return run(argv)


@synth_command("gan")
def _synth_gan(argv: list[str]) -> int | None:
    from training.synth.gan import main as run

    return run(argv)


@synth_command("sbi-video")
def _synth_sbi_video(argv: list[str]) -> int | None:
    from training.synth.sbi_video import main as run

    return run(argv)
