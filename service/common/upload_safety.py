"""Guards for files that strangers send: archives, XML, vertex counts, Shapefile sidecars.

Each check runs before GDAL, pandas or shapely builds anything from the file, and reads only what it
must: a zip's central directory before any byte is inflated, XML through a streaming parser that
refuses DTDs and entities, GeoJSON as a byte stream whose positions are counted up to the limit.
So a zip bomb, an external entity pointing at /etc/passwd or ten million vertices cost a few
megabytes of memory and end in a 4xx that names the fault, never in a 500 or an exhausted server.
"""

from __future__ import annotations

import re
import shutil
import stat
import sys
import tempfile
import xml.sax
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import numpy as np
import shapely
from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml.expatreader import create_parser

from service.errors import Problem
from service.settings import get_settings

MB = 1024 * 1024
SMALL_MEMBER = MB  # a member this small cannot hurt, whatever its compression ratio
CHUNK = MB
XML_SUFFIXES = (".kml", ".gml")
GEOJSON_SUFFIXES = (".geojson", ".json")
ARCHIVE_SUFFIXES = (".zip", ".kmz")
# what to read from an archive, in order of preference (the first .shp wins, as people expect)
ARCHIVE_DATASETS = (".shp", ".gpkg", ".geojson", ".json", ".kml", ".fgb", ".gml")
SHAPEFILE_SIDECARS = {".shx": "the index of the shapes", ".dbf": "the attribute table"}


# an absolute path of two or more parts (GDAL and the OS name the files they opened: never show the
# server's temporary folders to a client)
_SERVER_PATH = re.compile(r"(?<![/.\w])(?:/vsi[a-z0-9_]+/?)?(?:/[^\s'\"/:,;()\[\]]+){2,}/?")


def scrub_paths(text: str) -> str:
    """``text`` with every server path replaced by its last part (the name the client sent, or a member's)."""
    return _SERVER_PATH.sub(lambda m: PurePosixPath(m.group(0)).name or "(file)", text)


class UnsafeUpload(Problem):
    """A file refused for what it is, not for what it says; ``fault`` names the kind for clients."""

    def __init__(self, status: int, detail: str, fault: str) -> None:
        super().__init__(status, scrub_paths(detail), parameter="file", fault=fault)


# ---------------------------------------------------------------- GDAL, opened for strangers' files

# GDAL's VRT drivers open other files and URLs named inside the document (an OGR VRT under any
# name loads /etc/passwd or fetches a URL): the server never needs them, so they are deregistered.
SKIPPED_DRIVERS = ("VRT", "OGR_VRT")
# the one /vsicurl/ file GDAL may open: none exists, so GDAL fetches nothing over the network
NO_NETWORK = "/vsicurl/http://xiangmap.invalid/no-network-for-uploads"


@lru_cache(maxsize=1)
def harden_gdal() -> None:
    """Deregister GDAL's VRT drivers and close /vsicurl/ in this process (idempotent, decision 0090).

    GDAL applies ``GDAL_SKIP`` when drivers are registered; pyogrio registered them on import, so
    registration runs again here (drivers already registered stay, the skipped ones are removed).
    """
    import pyogrio
    from pyogrio._ogr import _register_drivers

    skip = " ".join(dict.fromkeys([*(pyogrio.get_gdal_config_option("GDAL_SKIP") or "").split(), *SKIPPED_DRIVERS]))
    pyogrio.set_gdal_config_options({"GDAL_SKIP": skip, "CPL_VSIL_CURL_ALLOWED_FILENAME": NO_NETWORK})
    _register_drivers()
    left = [d for d in SKIPPED_DRIVERS if d in pyogrio.list_drivers()]
    if left:  # never serve uploads with a GDAL that still reads VRT
        raise RuntimeError(f"GDAL drivers {left} could not be deregistered")


@dataclass(frozen=True)
class UploadLimits:
    max_file_bytes: int
    max_unzipped_bytes: int
    max_members: int
    max_ratio: int
    max_vertices: int
    max_geometry_vertices: int = sys.maxsize  # one geometry: GDAL builds each whole in memory

    @classmethod
    def from_settings(cls) -> UploadLimits:
        """Limits for files that come over HTTP."""
        s = get_settings()
        return cls(
            max_file_bytes=s.max_upload_mb * MB,
            max_unzipped_bytes=s.max_unzipped_mb * MB,
            max_members=s.max_zip_members,
            max_ratio=s.max_zip_ratio,
            max_vertices=s.max_file_vertices,
            max_geometry_vertices=s.max_geometry_vertices,
        )

    @classmethod
    def local(cls) -> UploadLimits:
        """Files an operator loads from disk: no size limits, but still no traversal, bombs or entities."""
        s = get_settings()
        return cls(
            max_file_bytes=sys.maxsize,
            max_unzipped_bytes=sys.maxsize,
            max_members=10_000,
            max_ratio=s.max_zip_ratio,
            max_vertices=sys.maxsize,
        )


# ---------------------------------------------------------------- zip archives


def _unsafe_member_name(name: str) -> bool:
    """Absolute paths, drive letters, backslashes and '..' would let a member land outside the folder."""
    if name.startswith(("/", "\\")) or "\\" in name or re.match(r"^[A-Za-z]:", name):
        return True
    return ".." in PurePosixPath(name).parts


def check_archive(path: Path, name: str, limits: UploadLimits) -> list[zipfile.ZipInfo]:
    """The members worth extracting, after checking the central directory (nothing is inflated)."""
    if not zipfile.is_zipfile(path):
        raise UnsafeUpload(422, f"{name} is not a valid zip archive", "bad_archive")
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise UnsafeUpload(422, f"{name} is a damaged zip archive ({exc})", "bad_archive") from None
    if len(members) > limits.max_members:
        raise UnsafeUpload(
            413, f"{name} holds {len(members)} files; at most {limits.max_members} are accepted", "too_many_members"
        )
    total = 0
    for member in members:
        if _unsafe_member_name(member.filename):
            raise UnsafeUpload(400, f"{name}: member {member.filename!r} points outside the archive", "unsafe_path")
        if stat.S_ISLNK(member.external_attr >> 16):
            raise UnsafeUpload(400, f"{name}: member {member.filename!r} is a symbolic link", "unsafe_path")
        if member.flag_bits & 0x1:
            raise UnsafeUpload(422, f"{name}: member {member.filename!r} is encrypted", "encrypted")
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > SMALL_MEMBER and ratio > limits.max_ratio:
            raise UnsafeUpload(
                413,
                f"{name}: member {member.filename!r} inflates {ratio:.0f}-fold to {member.file_size / MB:.0f} MB "
                f"(at most {limits.max_ratio}-fold is accepted): a zip bomb",
                "zip_bomb",
            )
        total += member.file_size
        if total > limits.max_unzipped_bytes:
            raise UnsafeUpload(
                413,
                f"{name} unpacks to more than {limits.max_unzipped_bytes // MB} MB "
                f"({member.filename!r} alone declares {member.file_size / MB:.0f} MB)",
                "too_large_unzipped",
            )
    return [m for m in members if not m.is_dir() and not m.filename.startswith("__MACOSX/")]


def _copy_limited(source: BinaryIO, target: BinaryIO, budget: int, declared: int, label: str) -> int:
    """Copy at most ``budget`` bytes and no more than the member declared; a liar is cut off."""
    written = 0
    for chunk in iter(lambda: source.read(CHUNK), b""):
        written += len(chunk)
        if written > declared or written > budget:
            raise UnsafeUpload(413, f"{label} inflates beyond what its archive declares", "zip_bomb")
        target.write(chunk)
    return written


def safe_extract(path: Path, folder: Path, name: str, limits: UploadLimits) -> list[Path]:
    """Extract every member under ``folder`` within the limits; the paths written, in archive order."""
    members = check_archive(path, name, limits)
    root = folder.resolve()
    budget = limits.max_unzipped_bytes
    written: list[Path] = []
    try:
        with zipfile.ZipFile(path) as archive:
            for member in members:
                target = (root / member.filename).resolve()
                if not target.is_relative_to(root):
                    raise UnsafeUpload(
                        400, f"{name}: member {member.filename!r} points outside the archive", "unsafe_path"
                    )
                target.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(member) as source, target.open("wb") as out:
                    label = f"{name}: member {member.filename!r}"
                    budget -= _copy_limited(source, out, budget, member.file_size, label)
                written.append(target)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, OSError) as exc:
        raise UnsafeUpload(422, f"{name} is a damaged or unsupported zip archive ({exc})", "bad_archive") from None
    return written


# ---------------------------------------------------------------- Shapefiles


def check_shapefile_sidecars(shp: Path, name: str) -> None:
    """A .shp alone is unreadable: GDAL needs .shx for the shapes and .dbf for the attributes."""
    present = {p.suffix.lower() for p in shp.parent.iterdir() if p.stem == shp.stem}
    for suffix, what in SHAPEFILE_SIDECARS.items():
        if suffix not in present:
            raise UnsafeUpload(
                422,
                f"{name}: the Shapefile {shp.name} comes without its {suffix} ({what}); "
                "zip the .shp, .shx, .dbf (and .prj, .cpg) together and send the zip",
                "missing_sidecar",
            )


# ---------------------------------------------------------------- XML (KML, GML)


class _TooManyVertices(Exception):
    """``args[0]``: True when one geometry (not the whole file) is over its limit."""


class _CoordinateCounter(xml.sax.ContentHandler):
    """Counts KML/GML coordinate tuples from the character stream, without keeping the text."""

    TUPLE_ELEMENTS = ("coordinates", "pos")
    NUMBER_ELEMENTS = ("posList",)

    def __init__(self, limit: int, geometry_limit: int = sys.maxsize) -> None:
        super().__init__()
        self.limit = limit
        self.geometry_limit = geometry_limit
        self.root: str | None = None  # local name of the root element
        self.namespaces: set[str] = set()  # namespaces the root element declares
        self.vertices = 0
        self.in_element = 0  # vertices of the current coordinates / posList element
        self.numbers = 0  # posList numbers of the current element
        self.dimension = 2
        self.element: str | None = None
        self.in_token = False

    def startElement(self, name: str, attrs: xml.sax.xmlreader.AttributesImpl) -> None:
        local = name.rsplit(":", 1)[-1]
        if self.root is None:
            self.root = local
            self.namespaces = {v for k, v in attrs.items() if k == "xmlns" or k.startswith("xmlns:")}
        if local in self.TUPLE_ELEMENTS or local in self.NUMBER_ELEMENTS:
            self.element = local
            self.in_token = False
            self.numbers = 0
            self.in_element = 0
            dimension = attrs.get("srsDimension") or attrs.get("dimension") or "2"
            self.dimension = int(dimension) if dimension.isdigit() and int(dimension) > 0 else 2

    def endElement(self, name: str) -> None:
        if self.element is not None and name.rsplit(":", 1)[-1] == self.element:
            if self.element in self.NUMBER_ELEMENTS:
                self.vertices += -(-self.numbers // self.dimension)
                self.in_element = -(-self.numbers // self.dimension)
                self._check()
            self.element = None

    def characters(self, content: str) -> None:
        if self.element is None or not content:
            return
        tokens = len(re.findall(r"\S+", content))
        if tokens and self.in_token and not content[0].isspace():
            tokens -= 1  # the token continues from the previous chunk
        self.in_token = not content[-1].isspace()
        if self.element in self.NUMBER_ELEMENTS:
            self.numbers += tokens
            self.in_element = self.numbers // self.dimension
            if self.in_element > min(self.limit, self.geometry_limit):
                raise _TooManyVertices(self.in_element > self.geometry_limit)
        else:
            self.vertices += tokens
            self.in_element += tokens
            self._check()

    def _check(self) -> None:
        if self.in_element > self.geometry_limit:
            raise _TooManyVertices(True)
        if self.vertices > self.limit:
            raise _TooManyVertices(False)


def _too_many_vertices(name: str, limit: int) -> UnsafeUpload:
    return UnsafeUpload(
        413,
        f"{name} has more than {limit} vertices; simplify it or split it into several files",
        "too_many_vertices",
    )


def _geometry_too_large(name: str, limit: int, which: int | None = None) -> UnsafeUpload:
    where = f"geometry {which}" if which else "one geometry"
    return UnsafeUpload(
        413,
        f"{name}: {where} has more than {limit} vertices (the limit for one geometry, XIANGMAP_MAX_GEOMETRY_VERTICES); "
        "simplify it or split it into several features",
        "too_many_vertices",
    )


def check_xml(path: Path, name: str, limits: UploadLimits) -> int:
    """Refuse DTDs, entities and external references; count coordinate tuples up to the limit."""
    parser = create_parser(forbid_dtd=True, forbid_entities=True, forbid_external=True)
    counter = _CoordinateCounter(limits.max_vertices, limits.max_geometry_vertices)
    parser.setContentHandler(counter)
    parser.setFeature(xml.sax.handler.feature_external_ges, False)
    parser.setFeature(xml.sax.handler.feature_external_pes, False)
    try:
        with path.open("rb") as handle:
            parser.parse(handle)
    except (DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden) as exc:
        raise UnsafeUpload(
            400,
            f"{name} declares a DTD or entities ({type(exc).__name__}); KML and GML need neither, "
            "and they are refused because they can read local files or expand without bound",
            "xml_entities",
        ) from None
    except _TooManyVertices as exc:
        if exc.args and exc.args[0]:
            raise _geometry_too_large(name, limits.max_geometry_vertices) from None
        raise _too_many_vertices(name, limits.max_vertices) from None
    except xml.sax.SAXParseException as exc:
        raise UnsafeUpload(
            400,
            f"{name} is not well-formed XML: {exc.getMessage()} at line {exc.getLineNumber()}, "
            f"column {exc.getColumnNumber()}",
            "bad_xml",
        ) from None
    _check_xml_root(counter, path, name)
    return counter.vertices


def _check_xml_root(counter: _CoordinateCounter, path: Path, name: str) -> None:
    """KML is a <kml> document, GML a document in the GML namespace: anything else is not what it claims."""
    suffix = path.suffix.lower()
    if suffix == ".kml" and (counter.root or "").lower() != "kml":
        raise _format_mismatch(name, "KML", f"an XML document whose root element is <{counter.root}>, not <kml>")
    if suffix == ".gml":
        gml = any("opengis.net/gml" in ns for ns in counter.namespaces)
        if not gml or counter.root == "OGRVRTDataSource":
            raise _format_mismatch(
                name, "GML", f"an XML document <{counter.root}> that does not declare the GML namespace"
            )


# ---------------------------------------------------------------- what a file really is

FORMATS = {  # suffix → (format name, the GDAL drivers that may open it)
    ".geojson": ("GeoJSON", ("GeoJSON",)),
    ".json": ("GeoJSON", ("GeoJSON",)),
    ".kml": ("KML", ("LIBKML", "KML")),
    ".gml": ("GML", ("GML",)),
    ".gpkg": ("GeoPackage", ("GPKG",)),
    ".fgb": ("FlatGeobuf", ("FlatGeobuf",)),
    ".csv": ("CSV", ("CSV",)),
    ".shp": ("Shapefile", ("ESRI Shapefile",)),
}
GPKG_APPLICATION_IDS = (b"GPKG", b"GP10", b"GP11")
SNIFF_BYTES = 64 * 1024


def _format_mismatch(name: str, claimed: str, found: str) -> UnsafeUpload:
    return UnsafeUpload(
        422,
        f"{name} cannot be read as {claimed}: it is named so but is {found}; "
        f"only real {claimed} files are read under that name",
        "format_mismatch",
    )


def _describe(head: bytes) -> str:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if b"OGRVRTDataSource" in head:
        return "a GDAL VRT document (which would make GDAL open other files or URLs)"
    if text.startswith(b"<"):
        return "an XML document"
    if text.startswith(b"SQLite format 3"):
        return "an SQLite database without the GeoPackage application id"
    if text.startswith((b"{", b"[")):
        return "JSON"
    if b"\0" in head:
        return "a binary file of another kind"
    return "text of another kind"


def check_content(path: Path, name: str) -> None:
    """The first bytes must be those of the format the name claims, before GDAL guesses a driver."""
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        return
    claimed = FORMATS[suffix][0]
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if b"OGRVRTDataSource" in head[:4096]:
        raise _format_mismatch(name, claimed, _describe(head))
    if suffix in GEOJSON_SUFFIXES:
        ok = text.startswith(b"{")
    elif suffix in XML_SUFFIXES:
        ok = text.startswith(b"<")  # the root element is checked by the XML parser (check_xml)
    elif suffix == ".gpkg":
        ok = head.startswith(b"SQLite format 3\0") and head[68:72] in GPKG_APPLICATION_IDS
    elif suffix == ".fgb":
        ok = head[:3] == b"fgb" and head[4:7] == b"fgb"
    elif suffix == ".shp":
        ok = len(head) >= 100 and int.from_bytes(head[:4], "big") == 9994
    else:  # CSV: plain text, not markup
        ok = b"\0" not in head and not text.startswith(b"<")
    if not ok:
        raise _format_mismatch(name, claimed, _describe(head))


def _plain_path(dataset: str, name: str) -> None:
    """GDAL reads only a plain local path: no /vsi... file system, no DRIVER:path prefix."""
    if dataset.startswith("/vsi") or re.match(r"^[A-Za-z][A-Za-z0-9_]+:", dataset) or not dataset.startswith("/"):
        raise UnsafeUpload(400, f"{name}: only plain files are read, not {dataset.split(':')[0]}: paths", "unsafe_path")


def _any_bytes(dataset: str) -> str | None:
    """An encoding under which any bytes read, for formats whose text may be in any encoding (field names)."""
    return "ISO-8859-1" if dataset.lower().endswith((".shp", ".csv")) else None


def check_driver(dataset: str, name: str) -> str | None:
    """The GDAL driver that opens ``dataset`` must be the one its format calls for; returns it.

    A file no driver opens is left to the reader, which says why in its own words (None).
    """
    import pyogrio

    harden_gdal()
    _plain_path(dataset, name)
    suffix = Path(dataset).suffix.lower()
    claimed, drivers = FORMATS.get(suffix, (suffix, ()))
    try:
        driver = str(pyogrio.read_info(dataset, encoding=_any_bytes(dataset))["driver"])
    except Exception:  # pyogrio's errors for unreadable files vary; the reader reports them
        return None
    if drivers and driver not in drivers:
        raise _format_mismatch(name, claimed, f"read by GDAL's {driver} driver")
    return driver


# ---------------------------------------------------------------- GeoJSON

# a position is an array whose first element is a number: "[113.1, 27.8]"; each geometry has its own
# "coordinates" member, so the positions between two of them belong to one geometry
_TOKEN = re.compile(rb'\[\s*[-+0-9]|"coordinates"')
_OPEN_AT_END = re.compile(rb"\[\s*\Z")
_KEEP = len(b'"coordinates"')  # bytes kept for the next chunk, so no token is cut in two


def check_geojson(path: Path, name: str, limits: UploadLimits) -> int:
    """Count positions in the byte stream, stopping at a limit, before any JSON parser builds objects.

    Two limits: all positions of the file, and the positions of one geometry (GDAL builds a geometry
    whole, about 300 bytes a vertex, so one huge line costs hundreds of megabytes before anything can
    refuse it).  The counts are upper bounds (a numeric array among the properties counts as one
    position), so a file is never let through with more vertices than the limits.
    """
    vertices = geometry = geometries = 0
    carry = b""
    with path.open("rb") as handle:
        chunk = handle.read(CHUNK)
        while chunk:
            following = handle.read(CHUNK)
            data = carry + chunk
            cut = len(data) if not following else len(data) - _KEEP
            if following:
                open_end = _OPEN_AT_END.search(data)
                if open_end and open_end.start() < cut:
                    cut = open_end.start()
            for token in _TOKEN.finditer(data, 0, len(data)):
                if token.start() >= cut:
                    break
                if token.group(0) == b'"coordinates"':
                    geometry = 0
                    geometries += 1
                    continue
                vertices += 1
                geometry += 1
                if geometry > limits.max_geometry_vertices:
                    raise _geometry_too_large(name, limits.max_geometry_vertices, geometries or None)
            if vertices > limits.max_vertices:
                raise _too_many_vertices(name, limits.max_vertices)
            carry = data[cut:]
            chunk = following
    return vertices


# ---------------------------------------------------------------- any OGR format


def count_vertices(dataset: str, layer: str | int | None, name: str, limits: UploadLimits) -> int:
    """Vertices of one layer read in batches of features, stopping at the limit (binary formats)."""
    import pyogrio

    vertices = 0
    try:
        with pyogrio.open_arrow(
            dataset,
            layer=layer,
            columns=[],
            batch_size=2_000,
            use_pyarrow=True,
            encoding="ISO-8859-1" if dataset.lower().endswith(".shp") else None,  # Arrow reads recode only these
        ) as opened:
            meta, reader = opened
            column = meta.get("geometry_name") or "wkb_geometry"
            if column not in reader.schema.names:
                return 0  # no geometry at all: the reader says so in its own words
            for batch in reader:
                wkb = np.asarray(batch.column(column).to_numpy(zero_copy_only=False), dtype=object)
                counts = shapely.get_num_coordinates(shapely.from_wkb(wkb))
                if len(counts) and int(counts.max()) > limits.max_geometry_vertices:
                    raise _geometry_too_large(name, limits.max_geometry_vertices)
                vertices += int(counts.sum())
                if vertices > limits.max_vertices:
                    raise _too_many_vertices(name, limits.max_vertices)
    except pyogrio.errors.DataSourceError as exc:
        reason = str(exc).replace(dataset, name)  # never show the server's temporary paths
        raise UnsafeUpload(422, f"{name} cannot be read as a GIS file: {reason}", "unreadable") from None
    except pyogrio.errors.DataLayerError as exc:
        raise UnsafeUpload(422, f"{name} cannot be read: {str(exc).replace(dataset, name)}", "unreadable") from None
    except (ValueError, IndexError, OSError, shapely.errors.GEOSException) as exc:  # a damaged file, not a 500
        raise UnsafeUpload(422, f"{name} is damaged: {type(exc).__name__}: {exc}", "unreadable") from None
    return vertices


def check_vertices(dataset: str, layer: str | int | None, name: str, limits: UploadLimits) -> None:
    """The vertex limit for formats that ``prepared`` did not already count in the byte stream."""
    unlimited = limits.max_vertices == sys.maxsize and limits.max_geometry_vertices == sys.maxsize
    if unlimited or dataset.lower().endswith(XML_SUFFIXES + GEOJSON_SUFFIXES):
        return
    count_vertices(dataset, layer, name, limits)


# ---------------------------------------------------------------- one entry point for uploads


def _pick_dataset(files: list[Path], name: str, preferred: tuple[str, ...]) -> Path:
    for suffix in preferred:
        found = [f for f in files if f.suffix.lower() == suffix]
        if found:
            return found[0]
    listed = ", ".join(preferred)
    raise UnsafeUpload(422, f"{name} holds no {listed} file", "no_dataset")


def check_file(path: Path, name: str, limits: UploadLimits) -> None:
    """The checks that depend on the kind of file (after any unzipping)."""
    suffix = path.suffix.lower()
    check_content(path, name)
    if suffix == ".shp":
        check_shapefile_sidecars(path, name)
    elif suffix in XML_SUFFIXES:
        check_xml(path, name, limits)
    elif suffix in GEOJSON_SUFFIXES and (
        limits.max_vertices != sys.maxsize or limits.max_geometry_vertices != sys.maxsize
    ):
        check_geojson(path, name, limits)


@contextmanager
def prepared(
    path: Path,
    name: str,
    limits: UploadLimits,
    *,
    preferred: tuple[str, ...] = ARCHIVE_DATASETS,
) -> Iterator[Path]:
    """The checked file to hand to GDAL: archives are extracted safely into a folder removed afterwards.

    The file is what its name says (its first bytes, then the GDAL driver that opens it), GDAL's VRT
    drivers are out of the process and /vsicurl/ is closed (``harden_gdal``).
    """
    harden_gdal()
    path = path.resolve()
    _plain_path(str(path), name)
    size = path.stat().st_size
    if size > limits.max_file_bytes:
        raise UnsafeUpload(413, f"{name} is larger than {limits.max_file_bytes // MB} MB", "too_large")
    if path.suffix.lower() not in ARCHIVE_SUFFIXES:
        check_file(path, name, limits)
        check_driver(str(path), name)
        yield path
        return
    folder = Path(tempfile.mkdtemp(prefix="xiangmap-unzip-"))
    try:
        files = safe_extract(path, folder, name, limits)
        dataset = _pick_dataset(files, name, preferred)
        check_file(dataset, name, limits)
        check_driver(str(dataset), name)
        yield dataset
    finally:
        shutil.rmtree(folder, ignore_errors=True)
