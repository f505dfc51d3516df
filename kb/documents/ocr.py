"""French OCR of a PDF's scanned pages: Debian's poppler-utils renders each page, tesseract reads it.

Runs inside the sandbox child; each page has its own time limit, and both tools run with one
thread (tesseract's OpenMP would take every core of a 2-core server for one upload).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from kb.documents.errors import UploadError, _

RESOLUTION = 300  # dots per inch: tesseract's own advice for body text
LANGUAGE = "fra"


def available() -> str | None:
    """Why OCR cannot run on this machine, or None when it can."""
    if not shutil.which("pdftoppm"):
        return _("pdftoppm (paquet Debian poppler-utils) n'est pas installé")
    if not shutil.which("tesseract"):
        return _("tesseract (paquets Debian tesseract-ocr et tesseract-ocr-fra) n'est pas installé")
    try:
        languages = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True, timeout=30).stdout.split()
    except (OSError, subprocess.SubprocessError) as error:
        return _("tesseract ne répond pas (%(error)s)", error=error)
    if LANGUAGE not in languages:
        return _("le français de tesseract (paquet Debian tesseract-ocr-fra) n'est pas installé")
    return None


def read_pages(name: str, data: bytes, numbers: list[int], page_seconds: float, workdir: str | None = None) -> dict[int, str]:
    """The text tesseract reads on each of the PDF's pages `numbers` (1-based)."""
    missing = available()
    if missing:
        raise UploadError(_("%(name)s : document scanné (sans texte), mais la reconnaissance de caractères est impossible ici : %(reason)s", name=name, reason=missing))
    environment = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    read: dict[int, str] = {}
    # In the folder the parent made (and removes, even when it had to kill this process), else our own.
    with tempfile.TemporaryDirectory(prefix="kb-ocr-", dir=workdir) as folder:
        pdf = Path(folder) / "document.pdf"
        pdf.write_bytes(data)
        for number in numbers:
            image = Path(folder) / f"page-{number}"
            try:
                subprocess.run(
                    ["pdftoppm", "-r", str(RESOLUTION), "-gray", "-png", "-singlefile", "-f", str(number), "-l", str(number), str(pdf), str(image)],
                    check=True, capture_output=True, timeout=page_seconds, env=environment,
                )  # fmt: skip
                result = subprocess.run(
                    ["tesseract", f"{image}.png", "stdout", "-l", LANGUAGE],
                    check=True, capture_output=True, timeout=page_seconds, env=environment,
                )  # fmt: skip
            except subprocess.TimeoutExpired:
                raise UploadError(_("%(name)s : la page %(number)s est trop longue à reconnaître (plus de %(seconds)s s)", name=name, number=number, seconds=format(page_seconds, "g"))) from None
            except subprocess.CalledProcessError as error:
                reason = error.stderr.decode("utf-8", errors="replace").strip().splitlines()[-1:] or [_("échec")]
                raise UploadError(_("%(name)s : page %(number)s illisible pour la reconnaissance de caractères (%(reason)s)", name=name, number=number, reason=reason[0][:160])) from None
            read[number] = result.stdout.decode("utf-8", errors="replace").replace("\f", "\n")
            Path(f"{image}.png").unlink(missing_ok=True)
    return read
