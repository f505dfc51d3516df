"""A full disk during a publication: a clear French error, the old file intact, the request still approved, then a retry that works.

The content tree is copied onto a small tmpfs (--size, default 2m) mounted for the run (needs
root: skipped with a message otherwise), the rest of the tmpfs is filled, and an editor approves
a journalist's edit: through kb.newsroom.workflow.approve (PublishFailed expected), then over HTTP through
`kb serve --production` with the « publier à nouveau » action (the change page must say the file
could not be written). Each time: the old file byte-identical, the request `approved`, no
publish row, no temporary file left, `kb check` passes. Then the filler is removed and the
publication retried over HTTP: published, the file is the proposed text, search finds it.
The tmpfs is unmounted whatever happens.

    .venv/bin/python scripts/faults/disk_full.py [--database postgresql://…] [--size 2m] [--no-http]
"""

from __future__ import annotations

import errno
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as common  # noqa: E402
from sqlalchemy import func, select  # noqa: E402


def _fill(path: Path) -> int:
    """Write `path` until the file system is full; the bytes written."""
    written = 0
    with open(path, "wb", buffering=0) as handle:
        for chunk in (1 << 16, 1 << 12, 1 << 8, 1):
            block = b"\0" * chunk
            while True:
                try:
                    written += handle.write(block)
                except OSError as error:
                    if error.errno != errno.ENOSPC:
                        raise
                    break
    return written


def _state_and_rows(scratch: common.Scratch, number: int) -> tuple[str, int]:
    with scratch.sessions()() as session:
        state = session.get(common.ChangeRequest, number).state
        rows = session.scalar(
            select(func.count()).select_from(common.audit.AuditEntry)
            .where(common.audit.AuditEntry.change_id == number, common.audit.AuditEntry.action.in_(common.audit.PUBLISH_ACTIONS))
        )  # fmt: skip
    return state, rows


def _intact(scratch: common.Scratch, findings: common.Findings, path: Path, original: bytes, number: int, when: str) -> None:
    findings.expect(path.read_bytes() == original, f"{when} : l'ancien fichier a changé")
    state, rows = _state_and_rows(scratch, number)
    findings.expect(state == "approved", f"{when} : la demande est « {state} », pas « approved »")
    findings.expect(rows == 0, f"{when} : {rows} ligne(s) de publication pour une publication échouée")
    leftovers = common.temporary_files(scratch)
    findings.expect(not leftovers, f"{when} : fichier(s) temporaire(s) laissé(s) : {[p.name for p in leftovers]}")
    common.check_tree(scratch, findings)


def main() -> int:
    parser = common.arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="2m", help="taille du tmpfs (défaut 2m)")
    parser.add_argument("--no-http", action="store_true", help="sans serveur : kb.newsroom.workflow.approve puis kb.newsroom.workflow.publish seulement")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("SKIP disk_full : il faut être root pour monter un tmpfs (sudo .venv/bin/python scripts/faults/disk_full.py)")
        return 0
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    scratch = common.Scratch("diskfull", args.database, args.keep, copy_content=False)
    mount = scratch.root / "petit-disque"
    mount.mkdir()
    findings = common.Findings()
    server = None
    mounted = False
    print(f"disk_full : base {scratch.kind}, tmpfs de {args.size}, graine {seed}")
    try:
        result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={args.size}", "tmpfs", str(mount)], capture_output=True, text=True)
        if result.returncode != 0:
            print(f"SKIP disk_full : montage du tmpfs impossible ({result.stderr.strip()})")
            return 0
        mounted = True
        scratch.content = mount / "content"
        scratch.env["KB_CONTENT_DIR"] = str(scratch.content)
        shutil.copytree(common.REPO / "content", scratch.content)
        scratch.setup()
        promise_id = rng.choice(scratch.promise_ids())
        path = scratch.promise_path(promise_id)
        original = path.read_bytes()
        word = common.Words().next()
        number = common.propose_edit(scratch, promise_id, word)
        client = None
        if not args.no_http:
            server = common.Server(scratch, workers=2, threads=2)
            server.start()
            client = common.Client(server.base).login(common.EDITORS[0])
        filled = _fill(mount / "remplissage")
        free = os.statvfs(mount).f_bavail * os.statvfs(mount).f_frsize
        print(f"contenu copié sur le tmpfs, {filled} octets de remplissage, reste {free} octets libres ; demande n° {number} sur {promise_id}")

        # 1. kb.newsroom.workflow.approve on a full disk.
        from kb.newsroom import workflow
        from kb.store.accounts import find_user
        from kb.content.tree import read_tree

        publisher = workflow.Publisher(scratch.content, scratch.instance / "publish.lock", git=False, engine=scratch.engine)
        with scratch.sessions()() as session:
            editor = find_user(session, common.EDITORS[0])
            change = session.get(workflow.ChangeRequest, number)
            try:
                outcome = workflow.approve(session, read_tree(scratch.content), change, editor, publisher)
                findings.fail(f"approbation sur disque plein : « {outcome} » au lieu de PublishFailed")
            except workflow.PublishFailed as error:
                message = str(error)
                print(f"kb.newsroom.workflow.approve → PublishFailed : {message}")
                findings.expect("n'a pas pu être écrite" in message and "réessayez" in message, f"message peu clair : {message}")
        _intact(scratch, findings, path, original, number, "après approve")

        # 2. The same over HTTP: the editor's « publier à nouveau » while the disk is still full.
        if client is not None:
            status = client.act(number, "publish")
            flashes = client.flashes(number)
            shown = " | ".join(flashes)
            print(f"HTTP POST …/publish → {status} ; la page dit : {shown}")
            findings.expect(status == 302, f"publication HTTP sur disque plein : HTTP {status}")
            findings.expect(
                any("Publication impossible" in text and "n'a pas pu être écrite" in text for text in flashes),
                f"la page ne dit pas que la fiche n'a pas pu être écrite : {shown!r}",
            )
            _intact(scratch, findings, path, original, number, "après publication HTTP")

        # 3. Space freed: the retry publishes.
        (mount / "remplissage").unlink()
        if client is not None:
            status = client.act(number, "publish")
            findings.expect(status == 302, f"nouvel essai HTTP : HTTP {status}")
            print(f"place libérée ; HTTP POST …/publish → {status} ; la page dit : {' | '.join(client.flashes(number))}")
        else:
            with scratch.sessions()() as session:
                editor = find_user(session, common.EDITORS[0])
                change = session.get(workflow.ChangeRequest, number)
                print(f"place libérée ; kb.newsroom.workflow.publish → {workflow.publish(session, read_tree(scratch.content), change, editor, publisher)}")
        state, rows = _state_and_rows(scratch, number)
        findings.expect(state == "published" and rows == 1, f"après le nouvel essai : « {state} », {rows} ligne(s) de publication")
        with scratch.sessions()() as session:
            proposed = session.get(common.ChangeRequest, number).proposed_text
        findings.expect(path.read_text(encoding="utf-8") == proposed, "après le nouvel essai : le fichier n'est pas le texte proposé")
        findings.expect(not common.temporary_files(scratch), "fichier(s) temporaire(s) laissé(s) après le nouvel essai")
        common.check_tree(scratch, findings)
        if server is not None:
            found = common.search_ids(server.base, word)
            findings.expect(found is not None and promise_id in found, f"la recherche de {word} ne trouve pas {promise_id} : {found}")
        common.check_publications(scratch, findings)
    except Exception as error:  # noqa: BLE001
        import traceback

        traceback.print_exc()
        findings.fail(f"l'essai s'est interrompu : {error}")
        if server is not None:
            print(server.log_tail())
    finally:
        if server is not None:
            server.stop()
        if mounted:
            if subprocess.run(["umount", str(mount)], capture_output=True).returncode != 0:
                subprocess.run(["umount", "-l", str(mount)], capture_output=True)
        scratch.cleanup()
    return common.verdict(findings, f"disk_full ({scratch.kind})")


if __name__ == "__main__":
    sys.exit(main())
