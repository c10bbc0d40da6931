"""Receive one uploaded file: streamed to a private temp file, size-limited and sniffed as it arrives.

The body is parsed chunk by chunk (python-multipart's push parser), never buffered whole: an oversized
declared ``Content-Length`` is refused before reading, an oversized stream as soon as it passes the limit, and
bytes that start like no known container after the first 64 KiB (or at the part's end) are refused there.
Nothing a client sends becomes a server-side path: files get ``mkstemp`` names in the service's 0700
directory, and the client's filename is only echoed back, reduced to a printable base name.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from detector.sniff import sniff_container

from .errors import ServiceError, service_error

FIELD = "file"
# sniff_image wants the first 64 KiB: a JPEG's size marker can sit behind EXIF data.
HEAD_BYTES = 1 << 16
# Boundaries and part headers around the file; python-multipart caps each part's headers at 8 x 4 KiB.
MULTIPART_OVERHEAD = 1 << 16
MAX_FILENAME = 200


@dataclass(frozen=True)
class Upload:
    """A received file. ``path`` stays on the server; ``filename`` is what results report."""

    path: Path
    filename: str
    container: str
    size: int

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)

    def scrub(self, text: str) -> str:
        """``text`` with the server-side path replaced by the client's filename (error messages name the file)."""
        return text.replace(str(self.path), self.filename).replace(str(self.path.parent), "<upload>")


def safe_filename(raw: str | None) -> str:
    """The last path component, printable characters only, at most 200 of them; ``upload`` when nothing is left."""
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    if name in ("", ".", ".."):
        return "upload"
    return name[:MAX_FILENAME]


def too_large(max_bytes: int) -> ServiceError:
    # Connection: close, because the rest of the body is never read.
    return service_error("upload_too_large", f"the upload limit is {max_bytes} bytes",
                         headers={"Connection": "close"})


async def receive_upload(request: Request, *, directory: Path, max_bytes: int) -> Upload:
    """Stream the ``file`` part of a multipart request into ``directory``; raise :class:`ServiceError` on abuse."""
    content_type, params = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data":
        raise service_error("unsupported_content_type",
                            f"send multipart/form-data with the video or image in a part named {FIELD!r}")
    boundary = params.get(b"boundary")
    if not boundary or len(boundary) > 70:  # RFC 2046: 1-70 characters
        raise service_error("bad_request", "multipart body without a valid boundary")
    limit = max_bytes + MULTIPART_OVERHEAD
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large(max_bytes)
    sink = _FileSink(directory, max_bytes)
    try:
        parser = MultipartParser(boundary, sink.callbacks())
        received = 0
        async for chunk in request.stream():
            received += len(chunk)
            if received > limit:
                raise too_large(max_bytes)
            parser.write(chunk)
            if sink.ended:
                break
        if not sink.ended:
            raise service_error("bad_request", "the multipart body ended early")
        return sink.result()
    except MultipartParseError:
        sink.discard()
        raise service_error("bad_request", "malformed multipart body") from None
    except BaseException:
        sink.discard()
        raise


class _FileSink:
    """python-multipart callbacks that write the ``file`` part to disk and ignore every other part."""

    def __init__(self, directory: Path, max_bytes: int) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.ended = False
        self.path: Path | None = None
        self.filename = "upload"
        self.container: str | None = None
        self.size = 0
        self._file: BinaryIO | None = None
        self._head = b""
        self._headers: dict[str, str] = {}
        self._field = b""
        self._value = b""

    def callbacks(self) -> dict:
        return {"on_part_begin": self._part_begin, "on_header_field": self._header_field,
                "on_header_value": self._header_value, "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished, "on_part_data": self._part_data,
                "on_part_end": self._part_end, "on_end": self._end}

    def _part_begin(self) -> None:
        self._headers = {}

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        # latin-1 round-trips any byte; parse_options_header encodes back to it.
        self._headers[self._field.decode("latin-1").lower()] = self._value.decode("latin-1")
        self._field = self._value = b""

    def _headers_finished(self) -> None:
        _, params = parse_options_header(self._headers.get("content-disposition", ""))
        if params.get(b"name", b"").decode("utf-8", "replace") != FIELD:
            return
        if self.path is not None:
            raise service_error("bad_request", f"one {FIELD!r} part per request")
        fd, name = tempfile.mkstemp(dir=self.directory, prefix="upload-")
        self.path = Path(name)
        self._file = os.fdopen(fd, "wb")
        raw = params.get(b"filename")  # the bytes on the wire; clients send UTF-8
        self.filename = safe_filename(raw.decode("utf-8", "replace") if raw else None)

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._file is None:
            return
        self.size += end - start
        if self.size > self.max_bytes:
            raise too_large(self.max_bytes)
        if self.container is None:
            self._head += data[start:end]
            self.container = sniff_container(self._head[:HEAD_BYTES])
            if self.container is None and len(self._head) >= HEAD_BYTES:
                raise _not_media()
            if self.container is not None:
                self._head = b""
        self._file.write(data[start:end])

    def _part_end(self) -> None:
        if self._file is None:
            return
        self._file.close()
        self._file = None
        if self.container is None:
            raise _not_media()

    def _end(self) -> None:
        self.ended = True

    def result(self) -> Upload:
        if self.path is None:
            raise service_error("bad_request", f"no part named {FIELD!r} in the multipart body")
        assert self.container is not None  # _part_end raised otherwise
        return Upload(self.path, self.filename, self.container, self.size)

    def discard(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        if self.path is not None:
            self.path.unlink(missing_ok=True)


def _not_media() -> ServiceError:
    return service_error("unsupported_media", "the upload is not a known video or image format")
