"""Small real PDF files for upload tests, written byte by byte (no PDF library needed to make them)."""

from __future__ import annotations

import io
import re
import subprocess
import tempfile
import zlib
from pathlib import Path

_FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"


def _stream(data: bytes, extra: bytes = b"") -> bytes:
    return b"<< /Length %d %s>>\nstream\n" % (len(data), extra) + data + b"\nendstream"


def _document(pages: list[tuple[bytes, bytes]], shared: list[bytes] = ()) -> bytes:
    """A PDF of `pages`, each (resources dictionary, content stream object number or stream bytes)."""
    objects: list[bytes] = [b"<< /Type /Catalog /Pages 2 0 R >>", b""]
    objects.extend(shared)
    kids = []
    for resources, content in pages:
        if content.startswith(b"REF "):
            content_ref = content[4:]
        else:
            objects.append(_stream(content))
            content_ref = b"%d 0 R" % len(objects)
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents %s /Resources %s >>" % (content_ref, resources))
        kids.append(b"%d 0 R" % len(objects))
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(kids), len(kids))
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def _text_operations(lines, size: int = 12) -> bytes:
    operations = [f"BT /F1 {size} Tf 72 720 Td {size + 2} TL"]
    for line in lines:
        escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        operations.append(f"({escaped}) Tj T*")
    operations.append("ET")
    return "\n".join(operations).encode("latin-1")


def pdf_with_pages(*pages: list[str], size: int = 12) -> bytes:
    """A PDF whose text layer holds each page's lines (Helvetica, WinAnsi: Latin-1 text)."""
    shared = [_FONT]  # object 3
    return _document([(b"<< /Font << /F1 3 0 R >> >>", _text_operations(lines, size)) for lines in pages], shared)


def pdf_with_text(*lines: str) -> bytes:
    """A one-page PDF whose text layer holds `lines`."""
    return pdf_with_pages(list(lines))


def scanned_pdf(*lines: str) -> bytes:
    """A one-page PDF with no text layer, only a picture of `lines` (what a scanner makes).

    The picture is the text PDF rendered by Debian's pdftoppm, in grey, embedded as an image.
    """
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "text.pdf"
        source.write_bytes(pdf_with_pages(list(lines), size=16))
        subprocess.run(["pdftoppm", "-r", "150", "-gray", "-singlefile", str(source), str(Path(folder) / "page")], check=True)
        pgm = (Path(folder) / "page.pgm").read_bytes()
    header = re.match(rb"P5\s+(\d+)\s+(\d+)\s+(\d+)\s", pgm)
    width, height = int(header.group(1)), int(header.group(2))
    pixels = pgm[header.end() :]
    image = _stream(
        zlib.compress(pixels),
        b"/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /FlateDecode " % (width, height),
    )
    return _document([(b"<< /XObject << /Im1 3 0 R >> >>", b"q 612 0 0 792 0 0 cm /Im1 Do Q")], [image])


def hostile_pdf(pages: int = 200, operators: int = 1_000_000, form: bool = False) -> bytes:
    """A small PDF whose every page replays one huge content stream: cheap to send, costly to read.

    A page costs about 11 s of CPU with pypdf 7 (3 s at 300,000 operators, which a faster pypdf read
    within the 3 s a page is allowed: the upload then ran to its 120 s limit).

    `form`: the stream is a form object the pages draw (pypdf reads those under its own `except Exception`)."""
    operations = b"BT /F1 1 Tf (x) Tj ET\n" * (operators // 5)
    if form:
        shared = [_FONT, _stream(zlib.compress(operations), b"/Type /XObject /Subtype /Form /BBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Filter /FlateDecode ")]
        return _document([(b"<< /Font << /F1 3 0 R >> /XObject << /Fm1 4 0 R >> >>", b"/Fm1 Do")] * pages, shared)
    shared = [_FONT, _stream(zlib.compress(operations), b"/Filter /FlateDecode ")]  # objects 3 and 4
    return _document([(b"<< /Font << /F1 3 0 R >> >>", b"REF 4 0 R")] * pages, shared)


def blank_pdf() -> bytes:
    """A valid PDF with one page and no text at all (what a scan without OCR looks like to pypdf)."""
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
