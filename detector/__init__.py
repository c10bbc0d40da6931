"""deepfake-detector: inference library (no torch).

``Detector.load().scan(path)`` runs the stages: :mod:`detector.media` (decode and sample),
:mod:`detector.faces` (detect, align, track), :mod:`detector.classifier` (ONNX Runtime, calibrated),
:mod:`detector.aggregate` (per person and per video), :mod:`detector.results` (what comes back).
"""

from .runtime import disable_telemetry

disable_telemetry()  # before anything can load onnxruntime: see detector.runtime

from .api import Detector
from .classifier import Classifier, CropScores
from .errors import (
    ConfigError,
    CorruptMediaError,
    DetectorError,
    EmptyMediaError,
    IsADirectoryMediaError,
    MediaError,
    MediaNotFoundError,
    MediaPermissionError,
    MediaTooLargeError,
    MediaTooLongError,
    MissingExtraError,
    ModelIntegrityError,
    NoDecodableFramesError,
    NoVideoStreamError,
    UnsupportedCodecError,
    UnsupportedMediaError,
)
from .faces.align import ALIGNMENT_VERSION, AlignSpec, align_face
from .faces.backends import create_detector
from .faces.detections import Detections
from .faces.extract import Face, FaceConfig, FaceExtractor, FacesResult
from .faces.quality import FaceQuality
from .faces.track import FaceTracker, TrackerConfig
from .kinds import FAKE_KINDS
from .media import Frame, MediaInfo, MediaLimits, open_media, read_frames
from .modelcard import Calibration, ModelCard
from .recipe import SamplingSpec, ScanConfig, ScanRecipe
from .results import FaceEvidence, MediaResult, ModelInfo, TimelinePoint, TrackResult

__version__ = "0.1.0"

__all__ = [
    "ALIGNMENT_VERSION",
    "FAKE_KINDS",
    "AlignSpec",
    "Calibration",
    "Classifier",
    "ConfigError",
    "CorruptMediaError",
    "CropScores",
    "Detections",
    "Detector",
    "DetectorError",
    "EmptyMediaError",
    "Face",
    "FaceConfig",
    "FaceEvidence",
    "FaceExtractor",
    "FaceQuality",
    "FaceTracker",
    "FacesResult",
    "Frame",
    "IsADirectoryMediaError",
    "MediaError",
    "MediaInfo",
    "MediaLimits",
    "MediaNotFoundError",
    "MediaPermissionError",
    "MediaResult",
    "MediaTooLargeError",
    "MediaTooLongError",
    "MissingExtraError",
    "ModelCard",
    "ModelInfo",
    "ModelIntegrityError",
    "NoDecodableFramesError",
    "NoVideoStreamError",
    "SamplingSpec",
    "ScanConfig",
    "ScanRecipe",
    "TimelinePoint",
    "TrackResult",
    "TrackerConfig",
    "UnsupportedCodecError",
    "UnsupportedMediaError",
    "align_face",
    "create_detector",
    "open_media",
    "read_frames",
]
