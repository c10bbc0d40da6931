"""Media ingestion: open any video or image through one interface and sample frames by time.

Videos (mp4/mov/webm/mkv/avi/...), still images (jpg/png/webp/bmp) and animated GIFs all go through
PyAV (FFmpeg), so one code path handles codecs, rotation metadata, odd sizes, grayscale, alpha and
variable frame rate.

Sampling is by time, never by frame number, so variable-frame-rate footage is sampled evenly:

* ``SamplingSpec(frames=N)``: N timestamps spread evenly over the duration (centred in N equal
  slices, which skips the black first frame of a fade-in).
* ``SamplingSpec(fps=2.0)``: one frame every 0.5 s.

The rooms, in the order a file passes through them:

* :mod:`.paths`: file-system checks and media extensions; :mod:`.probe`: sniffing the bytes, opening the
  container and probing its video stream into a :class:`MediaInfo`; :mod:`.rotation`: display rotation.
* :mod:`.sampling` and :mod:`.limits`: which frames to take, and the guard rails.
* Decoding, chosen by :class:`MediaReader` (:mod:`.reader`) per call: short clips decode every frame and
  convert only the sampled ones (:mod:`.decode_all`), long videos seek to the keyframe before each target
  (:mod:`.decode_seek`), streams of unknown length sample on the fly (:mod:`.decode_rate`). Sparse samples
  decode reference frames only (:mod:`.reference_skip`). Frames are streamed: memory stays flat in video
  length.
* :mod:`.frame`: decoded frames into RGB :class:`Frame` s.
"""

from .frame import Frame
from .limits import MediaLimits
from .paths import IMAGE_EXTENSIONS, MEDIA_EXTENSIONS, VIDEO_EXTENSIONS, check_path, is_media_path
from .probe import MediaInfo, MediaKind
from .reader import MediaReader, open_media, read_frames

__all__ = [
    "IMAGE_EXTENSIONS", "MEDIA_EXTENSIONS", "VIDEO_EXTENSIONS", "Frame", "MediaInfo", "MediaKind", "MediaLimits",
    "MediaReader", "check_path", "is_media_path", "open_media", "read_frames",
]
