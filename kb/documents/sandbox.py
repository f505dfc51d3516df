"""One document read in a child process that a budget bounds: CPU, memory, wall-clock time.

A hostile file (a PDF whose every page replays a stream of 300,000 operators, a ZIP bomb, a scan
of 2,000 pages) must cost its uploader a refusal in seconds, not a server thread for minutes:
the reading happens in `python -m kb.documents.sandbox`, which sets its own resource limits
before touching the bytes (not preexec_fn: unsafe in a threaded server), and the parent kills its
whole process group (tesseract included) when the time is up.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
from dataclasses import asdict

from kb.documents import formats, layout, ocr
from kb.documents.errors import UploadError, _
from kb.documents.formats import Limits


def run(name: str, data: bytes, kind: str, limits: Limits, seconds: float, memory_mb: int) -> tuple[list[str], list[int]]:
    """(pages of text, pages read by OCR) of `data`, read in a child process within the budget."""
    with tempfile.TemporaryDirectory(prefix="kb-read-") as workdir:
        return _run(name, data, kind, limits, seconds, memory_mb, workdir)


def _run(name: str, data: bytes, kind: str, limits: Limits, seconds: float, memory_mb: int, workdir: str) -> tuple[list[str], list[int]]:
    from kb.config import i18n

    # The child writes its refusals in the language of the person uploading (None: French, the messages' own).
    language = None if i18n.language() == i18n.DEFAULT else i18n.language()
    header = json.dumps({"name": name, "kind": kind, "limits": asdict(limits), "seconds": seconds, "memory_mb": memory_mb, "workdir": workdir, "language": language})
    child = subprocess.Popen(
        [sys.executable, "-m", "kb.documents.sandbox"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    try:
        out, err = child.communicate(header.encode() + b"\n" + data, timeout=seconds)
    except subprocess.TimeoutExpired:
        _kill(child)
        raise UploadError(_("%(name)s : lecture du document trop longue (plus de %(seconds)s s) ; découpez-le ou collez son texte", name=name, seconds=format(seconds, "g"))) from None
    except BaseException:
        _kill(child)
        raise
    finally:
        _kill_group(child)
    try:
        answer = json.loads(out)
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        if child.returncode in (-signal.SIGKILL, -signal.SIGXCPU) or b"MemoryError" in err:
            raise UploadError(
                _(
                    "%(name)s : la lecture du document dépasse les ressources permises (mémoire %(memory)s Mo, %(seconds)s s de calcul) ; découpez-le",
                    name=name, memory=memory_mb, seconds=format(seconds, "g"),
                )
            )
        raise UploadError(_("%(name)s : lecture du document impossible (%(reason)s)", name=name, reason=err.decode("utf-8", errors="replace").strip()[-200:] or child.returncode))
    if "error" in answer:
        raise UploadError(answer["error"])
    return answer["pages"], answer["ocr"]


def _kill(child: subprocess.Popen) -> None:
    _kill_group(child)
    child.communicate()


def _kill_group(child: subprocess.Popen) -> None:
    try:
        os.killpg(child.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def read(name: str, data: bytes, kind: str, limits: Limits, workdir: str | None = None) -> tuple[list[str], list[int]]:
    """What the child does: the format's pages, OCR of the scanned ones, lines joined into paragraphs."""
    if kind == "pdf":
        pages, scanned = formats.pdf_pages(name, data, limits)
        if len(scanned) > limits.ocr_pages:
            raise UploadError(
                _(
                    "%(name)s : %(count)s pages scannées (sans texte), plus que les %(limit)s que kb reconnaît en une fois ; découpez le document",
                    name=name, count=len(scanned), limit=limits.ocr_pages,
                )
            )
        if scanned:
            for number, text in ocr.read_pages(name, data, scanned, limits.ocr_page_seconds, workdir).items():
                pages[number - 1] = text
        return layout.reflow_pages(pages), scanned
    if kind == "docx":
        return formats.docx_pages(name, data, limits), []
    if kind == "odt":
        return formats.odt_pages(name, data, limits), []
    if kind == "html":
        return formats.html_pages(name, data, limits), []
    return formats.text_pages(name, data, limits), []


def _limit(seconds: float, memory_mb: int) -> None:
    cpu = int(seconds) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    memory = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))


def main() -> None:
    header = json.loads(sys.stdin.buffer.readline())
    if header.get("language"):
        from kb.config import i18n

        i18n.set_language(header["language"])
        i18n.translations(i18n.language())  # read now, before the limits: a refusal for lack of memory is written with it
    _limit(header["seconds"], header["memory_mb"])
    data = sys.stdin.buffer.read()
    try:
        pages, scanned = read(header["name"], data, header["kind"], Limits(**header["limits"]), header.get("workdir"))
        answer = {"pages": pages, "ocr": scanned}
    except UploadError as error:
        answer = {"error": str(error)}
    except MemoryError:
        answer = {"error": _("%(name)s : la lecture du document dépasse la mémoire permise (%(memory)s Mo) ; découpez-le", name=header["name"], memory=header["memory_mb"])}
    sys.stdout.write(json.dumps(answer))


if __name__ == "__main__":
    main()
