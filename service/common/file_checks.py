"""Photos and documents checked by their content: what evidence files (tasks) and case files (cases) share.

A file is accepted when its bytes are a JPEG, PNG or WebP image that Pillow decodes whole, or a PDF with
its header and end-of-file marker; the name's suffix must agree with what the bytes are, so a program
renamed ``photo.jpg`` or a page renamed ``scan.pdf`` is refused, and a download is never something else
than its name says.  Each file is bounded in bytes (the caller's limit) and images also in pixels, so a
small file cannot expand into gigabytes.  Refusals are :class:`FileRefused` with a Chinese and English
message that names the file (decision 0191).  Moved here from ``service.tasks.evidence`` (issue 16).
"""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
import warnings
from dataclasses import dataclass
from pathlib import PurePath

MB = 1024 * 1024
MAX_PIXELS = 50_000_000  # about 8 000 x 6 000: any phone photo; a decoded image of this size is ~150 MB
KINDS = {  # media type: (what people call it, the suffixes its name may have, Pillow's format name)
    "image/jpeg": ("JPEG 照片", (".jpg", ".jpeg"), "JPEG"),
    "image/png": ("PNG 图片", (".png",), "PNG"),
    "image/webp": ("WebP 图片", (".webp",), "WEBP"),
    "application/pdf": ("PDF 文件", (".pdf",), None),
}
SUFFIXES = tuple(s for _, suffixes, _ in KINDS.values() for s in suffixes)
ACCEPT = ",".join((*KINDS, *SUFFIXES))  # the file input's accept attribute


class FileRefused(ValueError):
    """A file that is not accepted; ``status`` is the HTTP status it answers (413, 415, 422)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class CheckedFile:
    """One checked file, ready to store."""

    filename: str
    media_type: str
    content: bytes
    sha256: str

    @property
    def size(self) -> int:
        return len(self.content)


def clean_name(name: str | None) -> str:
    """The file's own name without any folder, control characters or surrounding blanks (at most 200 characters)."""
    base = PurePath((name or "").replace("\\", "/")).name
    base = "".join(c for c in base if unicodedata.category(c)[0] != "C").strip()
    return (base or "file")[-200:]


def sniff(head: bytes) -> str | None:
    """The media type the first bytes say, among the accepted ones; None for anything else."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    return None


def _what_it_is(head: bytes) -> tuple[str, str]:
    """What the first bytes look like, in Chinese and English (for the refusal)."""
    if head.startswith(b"MZ"):
        return "Windows 可执行程序", "a Windows program (.exe)"
    if head.startswith(b"\x7fELF"):
        return "可执行程序", "a program (ELF)"
    if head.startswith(b"PK\x03\x04"):
        return "压缩包或 Office 文档", "a zip archive or an Office document"
    if head.lstrip().startswith(b"<"):
        return "网页或 XML、SVG 文档", "markup (HTML, XML or SVG)"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "GIF 图片", "a GIF image"
    return "其他类型的文件", "another kind of file"


def _decode_image(name: str, content: bytes, media_type: str) -> None:
    """The whole image decodes, in the format its bytes announce, within the pixel bound."""
    from PIL import Image, UnidentifiedImageError

    label, _, pillow_format = KINDS[media_type]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content)) as probe:
                if probe.format != pillow_format:
                    raise FileRefused(415, f"“{name}”不是{label} / {name} is not a {pillow_format} image")
                width, height = probe.size
                if width * height > MAX_PIXELS:
                    raise FileRefused(
                        413,
                        f"“{name}”的像素过多（{width}×{height}），请缩小后再传 / "
                        f"{name} has too many pixels ({width}x{height}, at most {MAX_PIXELS})",
                    )
                probe.verify()
            with Image.open(io.BytesIO(content)) as image:
                image.load()  # verify() reads no pixel data: a truncated file fails only here
    except FileRefused:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise FileRefused(
            422, f"“{name}”图片已损坏或不完整，无法打开 / {name} is damaged or truncated: {exc}"
        ) from None
    except Image.DecompressionBombWarning:
        raise FileRefused(413, f"“{name}”的像素过多，请缩小后再传 / {name} has too many pixels") from None


def _check_pdf(name: str, content: bytes) -> None:
    if b"%%EOF" not in content[-2048:]:
        raise FileRefused(
            422, f"“{name}”PDF 文件不完整（缺少文件结尾） / {name} is a truncated PDF (no %%EOF at its end)"
        )


def check(filename: str | None, content: bytes, limit_mb: int) -> CheckedFile:
    """One uploaded photo or PDF of at most ``limit_mb`` MB, or FileRefused saying what is wrong with it."""
    name = clean_name(filename)
    limit = limit_mb * MB
    if not content:
        raise FileRefused(422, f"“{name}”是空文件 / {name} is empty")
    if len(content) > limit:
        raise FileRefused(
            413,
            f"“{name}”超过 {limit_mb} MB，请压缩后再传 / {name} is larger than {limit_mb} MB",
        )
    media_type = sniff(content[:16])
    if media_type is None:
        zh, en = _what_it_is(content[:64])
        raise FileRefused(
            415,
            f"“{name}”不是照片（JPEG、PNG、WebP）或 PDF：其内容是{zh} / "
            f"{name} is not a JPEG, PNG or WebP photo or a PDF: it is {en}",
        )
    label, suffixes, _ = KINDS[media_type]
    suffix = PurePath(name).suffix.lower()
    if suffix not in suffixes:
        raise FileRefused(
            415,
            f"“{name}”的内容是{label}，但文件名后缀是“{suffix or '无'}”；请用 {'、'.join(suffixes)} 命名 / "
            f"{name} holds a {media_type} file but is named {suffix or 'without a suffix'}; name it {suffixes[0]}",
        )
    if media_type == "application/pdf":
        _check_pdf(name, content)
    else:
        _decode_image(name, content, media_type)
    return CheckedFile(name, media_type, content, hashlib.sha256(content).hexdigest())


_UNSAFE_ASCII = re.compile(r"[^A-Za-z0-9._-]")


def ascii_name(name: str) -> str:
    """A plain-ASCII stand-in for the Content-Disposition ``filename`` (the UTF-8 one goes in ``filename*``)."""
    stem, suffix = PurePath(name).stem, PurePath(name).suffix.lower()
    plain = _UNSAFE_ASCII.sub("_", stem).strip("._") or "evidence"
    return f"{plain[:80]}{_UNSAFE_ASCII.sub('', suffix)}"
