"""deepfake-detector: inference library (no torch).

Stages: :mod:`detector.media` (decode and sample), :mod:`detector.faces` (detect, align, track),
:mod:`detector.runtime` (ONNX Runtime sessions).
"""

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
from .faces.detections import Detections, create_detector
from .faces.extract import Face, FaceConfig, FaceExtractor, FacesResult, TrackSummary
from .faces.quality import FaceQuality
from .faces.track import FaceTracker, TrackerConfig
from .media import Frame, MediaInfo, MediaLimits, Sampling, open_media, read_frames

__version__ = "0.1.0"

__all__ = [
    "ALIGNMENT_VERSION",
    "AlignSpec",
    "ConfigError",
    "CorruptMediaError",
    "Detections",
    "DetectorError",
    "EmptyMediaError",
    "Face",
    "FaceConfig",
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
    "MediaTooLargeError",
    "MediaTooLongError",
    "MissingExtraError",
    "ModelIntegrityError",
    "NoDecodableFramesError",
    "NoVideoStreamError",
    "Sampling",
    "TrackSummary",
    "TrackerConfig",
    "UnsupportedCodecError",
    "UnsupportedMediaError",
    "align_face",
    "create_detector",
    "open_media",
    "read_frames",
]
