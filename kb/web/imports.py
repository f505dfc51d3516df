"""The newsroom's import page (/redaction/import): a spreadsheet of promises → a preview row by row → one batch request.

Routes of the newsroom blueprint. The preview keeps nothing on the server: the file travels back
in the form (base64, with its sha256), so that what becomes a request is exactly what was
previewed — read and checked again when the request is made, against the tree as it is then.
"""

from __future__ import annotations

import base64
import binascii
import hashlib

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from kb.config.i18n import gettext as _
from kb.config.i18n import ngettext
from kb.content.opendata import CSV_COLUMNS
from kb.content.spreadsheets import SpreadsheetError, read_table
from kb.newsroom import imports, workflow
from kb.web.content_store import current_tree
from kb.web.database import db
from kb.web.newsroom import bp, requires

# Columns of the blank model: the export's that an import reads, then those of a status change.
MODEL_COLUMNS = [column for column in CSV_COLUMNS if column in imports.FIELDS or column == "id"] + list(imports.ENTRY_COLUMNS)


@bp.get("/import")
@requires("change.propose")
def import_sheet():
    return render_template("newsroom/import.html", **_page_context())


@bp.post("/import")
@requires("change.propose")
def import_preview():
    """The uploaded sheet, row by row: what each row would do, or why it is refused."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _refused(_("choisissez le fichier à importer (CSV, XLSX ou ODS)"))
    data = upload.read(_max_bytes() + 1)
    if len(data) > _max_bytes():
        return _refused(_("fichier trop gros : %(mb)s Mo au plus pour un import", mb=_max_bytes() // 1_000_000))
    return _preview(upload.filename, data)


@bp.post("/import/demande")
@requires("change.propose")
def import_request():
    """The previewed sheet's valid rows become one batch request (or replace a batch's files)."""
    name = (request.form.get("name") or "tableur").strip()[:200]
    try:
        data = base64.b64decode(request.form.get("data", ""), validate=True)
    except (binascii.Error, ValueError):
        return _refused(_("le formulaire est incomplet : importez le fichier à nouveau"))
    if hashlib.sha256(data).hexdigest() != request.form.get("sha256"):
        return _refused(_("le fichier n'est plus celui de l'aperçu : importez-le à nouveau"))
    try:
        preview = imports.read_sheet(current_tree(), read_table(name, data))
    except (SpreadsheetError, imports.ImportRefused) as error:
        return _refused(str(error))
    if preview.count("error") != request.form.get("errors", -1, type=int) or len(preview.files) != request.form.get("valid", -1, type=int):
        # Something published meanwhile changed what a row does: show it again rather than guess.
        notice = _("Des fiches ont changé depuis l'aperçu : voici l'aperçu à jour, vérifiez-le avant de créer la demande.")
        return _preview(name, data, notice=notice)
    summary = (request.form.get("summary") or "").strip() or preview.summary()
    replacing = _request_number("replace")
    tree = current_tree()  # the tree the preview was just read against (one per request)
    if replacing:
        change = workflow.get_change(db(), replacing, current_user)
        workflow.replace_batch(db(), tree, change, current_user, preview.files, summary, checked=True)
        message = ngettext(
            "Demande n° %(number)s mise à jour : %(num)s fiche.", "Demande n° %(number)s mise à jour : %(num)s fiches.",
            len(preview.files), number=change.id,
        )  # fmt: skip
        flash(message, "success")
    else:
        change = workflow.propose_batch(db(), tree, current_user, name, preview.files, summary, checked=True)
        message = ngettext(
            "Demande d'import créée : %(num)s fiche, à envoyer en relecture.", "Demande d'import créée : %(num)s fiches, à envoyer en relecture.",
            len(preview.files),
        )  # fmt: skip
        flash(message, "success")
    return redirect(url_for("newsroom.change", number=change.id))


@bp.get("/import/modele.csv")
@requires("change.propose")
def import_model():
    """A blank sheet with the columns an import reads (UTF-8 with BOM, as spreadsheets expect)."""
    body = "\ufeff" + ",".join(MODEL_COLUMNS) + "\r\n"
    return current_app.response_class(
        body, mimetype="text/csv", headers={"Content-Disposition": 'attachment; filename="modele-import-promesses.csv"'}
    )


def _preview(name: str, data: bytes, notice: str | None = None):
    try:
        preview = imports.read_sheet(current_tree(), read_table(name, data))
    except (SpreadsheetError, imports.ImportRefused) as error:
        return _refused(str(error))
    return render_template(
        "newsroom/import_preview.html",
        preview=preview,
        name=name,
        data=base64.b64encode(data).decode("ascii"),
        sha256=hashlib.sha256(data).hexdigest(),
        notice=notice,
        replace=_request_number("replace"),
        columns=MODEL_COLUMNS,
    )


def _refused(message: str):
    """The import page again with what is wrong with the file: 400, nothing read, nothing saved."""
    return render_template("newsroom/import.html", error=message, **_page_context()), 400


def _page_context() -> dict:
    replace = _request_number("replace")
    change = workflow.get_change(db(), replace, current_user) if replace else None
    return {"columns": MODEL_COLUMNS, "replace": change, "max_mb": _max_bytes() // 1_000_000, "entry_columns": imports.ENTRY_COLUMNS}


def _request_number(name: str) -> int | None:
    """A request number from the form or the address (None: absent, not a number, or out of range)."""
    number = request.values.get(name, type=int)
    return number if number is not None and 0 < number <= 2_147_483_647 else None


def _max_bytes() -> int:
    return int(current_app.config["IMPORT_MAX_BYTES"])
