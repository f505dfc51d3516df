"""The newsroom (/redaction): journalists propose, editors review and publish, admins audit.

Views are thin: parse the form, ask kb.newsroom.forms what to prefill and what a request is
based on, call one operation of kb.newsroom.workflow, render. Every route names
the permission it needs (`requires`); the state machine's guards do the rest.
"""

from __future__ import annotations

import itertools
import logging
from datetime import date, datetime, timezone
from functools import wraps
from pathlib import Path

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from kb.config import i18n
from kb.config.i18n import gettext as _
from kb.content.check import prefix_hint
from kb.content import originals
from kb.content.nearest import nearest_passage
from kb.documents.extract import Budget, UploadError, read_document
from kb.content.files import current_file, sha256_text
from kb.content.quotes import FoldedText
from kb.content.registry import Key
from kb.content.sources import DOCUMENT_TYPES
from kb.content.trackers import ordered
from kb.catalog import queries
from kb.newsroom import forms, notifications, proposals, workflow
from kb.newsroom.diff import file_diff
from kb.newsroom.permissions import can, require
from kb.newsroom.publishing import Publisher
from kb.store import audit
from kb.web.auth import login_manager
from kb.web.content_store import current_tree
from kb.web.database import db
from kb.web.list_request import page_of
from kb.web.pages import render_item_page

log = logging.getLogger(__name__)
bp = Blueprint("newsroom", __name__, url_prefix="/redaction")
# endpoint → the permission its view checks; a test proves every newsroom route is listed.
ROUTE_ACTIONS: dict[str, str] = {}
EVIDENCE_ROWS = 3
AUDIT_PAGE_SIZE = 100


def requires(action: str):
    """Log in first, then hold the permission `action` (kb.newsroom.permissions), or get a 403."""

    def decorate(view):
        ROUTE_ACTIONS[f"{bp.name}.{view.__name__}"] = action

        @wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            require(current_user, action)
            return view(*args, **kwargs)

        return wrapper

    return decorate


@bp.app_template_global()
def may(action: str) -> bool:
    return current_user.is_authenticated and can(current_user, action)


def publisher() -> Publisher:
    """The app's publisher (kb.web builds it once, with the hooks that keep what is derived current)."""
    return current_app.extensions["kb.publisher"]


def _notify(messages_of) -> None:
    """Send the messages `messages_of(mailer)` builds, when the newsroom has a mail server (SMTP_HOST)."""
    mailer = current_app.extensions.get("kb.mailer")
    if mailer is None:
        return
    try:
        mailer.send_later(messages_of(mailer))
    except Exception:  # noqa: BLE001 — the action is done and saved: a message that cannot be written is logged, never a 500
        log.exception("notifications non envoyées")


def _change_url(change) -> str:
    return url_for("newsroom.change", number=change.id, _external=True)


def _submitted(change) -> None:
    _notify(lambda mailer: notifications.awaiting_review(db(), mailer, change, _change_url(change), current_user))


def _reviewed(change, comment: str | None) -> None:
    _notify(lambda mailer: notifications.reviewed(mailer, change, _change_url(change), current_user, comment))


def _change(number: int) -> workflow.ChangeRequest:
    return workflow.get_change(db(), number, current_user)


def _published_promise(promise_id: str):
    tree = current_tree()
    promise = tree.promises.get(promise_id)
    if promise is None:
        abort(404)
    return tree, promise


# -- home and lists ---------------------------------------------------------------------------


@bp.get("/")
@requires("newsroom.enter")
def home():
    reviewer = can(current_user, "change.review")
    queue = workflow.review_queue(db(), current_user) if reviewer else []
    stuck = workflow.approved_unpublished(db(), current_user) if reviewer else []
    mine = workflow.own_requests(db(), current_user)
    tree = current_tree()
    return render_template(
        "newsroom/home.html", mine=mine, queue=queue, stuck=stuck, sent_back=[change for change in mine if change.state == "changes_requested"],
        work=queries.worklist(tree, date.today(), int(current_app.config["STALE_MONTHS"]) * 30), stale_months=current_app.config["STALE_MONTHS"],
        statuses=tree.statuses, waiting=waiting, today=date.today(),
    )  # fmt: skip


@bp.get("/promesses")
@requires("change.propose")
def pick():
    query = " ".join(request.args.get("q", "").split())
    needle = FoldedText.of(query).folded if query else ""
    promises = current_tree().summaries("promise")
    if needle:
        promises = [p for p in promises if needle in FoldedText.of(f"{p.title} {' '.join(p.made_by)} {p.territory} {p.id}").folded]
    return render_template("newsroom/pick.html", promises=promises[:100], total=len(promises), query=query, statuses=current_tree().statuses)


@bp.get("/relecture")
@requires("change.review")
def queue():
    return render_template("newsroom/queue.html", queue=workflow.review_queue(db(), current_user), waiting=waiting, today=date.today())


def waiting(since) -> str:
    """How long a request has waited, as people say it: "3 h", "2 j"."""
    if since is None:
        return ""
    hours = int((datetime.now(timezone.utc).replace(tzinfo=None) - since).total_seconds() // 3600)
    return _("%(hours)s h", hours=hours) if hours < 48 else _("%(days)s j", days=hours // 24)


@bp.get("/journal")
@requires("audit.view")
def audit_log():
    page = min(max(1, request.args.get("page", 1, type=int) or 1), 1_000_000)
    prefix = request.args.get("action") or None
    rows = audit.entries(db(), prefix, AUDIT_PAGE_SIZE + 1, (page - 1) * AUDIT_PAGE_SIZE)
    return render_template(
        "newsroom/audit.html", rows=rows[:AUDIT_PAGE_SIZE], page=page, more=len(rows) > AUDIT_PAGE_SIZE, action=prefix
    )


# -- proposing --------------------------------------------------------------------------------


def _save(kind: str, target: str, text: str, summary: str, change=None, base=None):
    """Save a new draft or amend `change`; then submit it when the journalist asked to."""
    tree = current_tree()
    if change is None:
        change = workflow.propose(db(), tree, current_user, kind, target, text, summary, base=base)
    else:
        workflow.amend(db(), tree, change, current_user, text, summary)
    if request.form.get("then") == "submit":
        workflow.submit(db(), tree, change, current_user, request.form.get("comment"))
        _submitted(change)
        flash(_("Demande envoyée en relecture."), "success")
    else:
        flash(_("Brouillon enregistré."), "success")
    return redirect(url_for("newsroom.change", number=change.id))


def _form_failed(template: str, error: Exception, form=None, **context):
    """The form again, as typed (`form`: the posted values, read for the template), with what is wrong: 400, nothing saved."""
    field_errors = error.errors if isinstance(error, proposals.FormError) else {}
    problems = error.problems if isinstance(error, workflow.ValidationFailed) else []
    message = None if field_errors or problems else str(error)
    return (
        render_template(
            template, field_errors=field_errors, problems=problems, error=message, form=form or request.form, **context
        ),
        400,
    )


def _evidence_rows() -> list[tuple[str, str]]:
    sources, quotes = request.form.getlist("source"), request.form.getlist("quote")
    return list(zip(sources, quotes))


def _kinds():
    return current_tree().kinds


def _key(kind: str, item) -> str:
    """The target a request about this published item names."""
    return str(Key.of(_kinds()[kind], item))


def _status_context(promise, change=None) -> dict:
    tree = current_tree()
    return {
        "promise": promise,
        "change": change,
        "statuses": tree.statuses,
        "sources": tree.summaries("source"),
        "rows": EVIDENCE_ROWS,
        "today": date.today().isoformat(),
        "base_sha256": current_file(promise.path)[1] if change is None and promise.path else None,
        "sha256_text": sha256_text,
    }


@bp.route("/promesses/<promise_id>/statut", methods=["GET", "POST"])
@requires("change.propose")
def new_status(promise_id: str):
    tree, promise = _published_promise(promise_id)
    return _status_form(promise, None)


def _status_form(promise, change):
    context = _status_context(promise, change)
    if request.method == "GET":
        form = forms.status_prefill(_kinds(), change, date.today())
        suggested = _suggested_passage() if change is None else None
        if suggested:  # from "Passages à examiner": the passage as the evidence, the document's date as the entry's
            source, quote = suggested
            form.update(evidence=[(source.id, quote)], date=(source.date or date.today()).isoformat())
        return render_template("newsroom/status_form.html", form=form, evidence=form.get("evidence", []), **context)
    context["evidence"] = _evidence_rows()
    base = None
    try:
        if change is None:
            # The new entry goes onto the file as it is on disk now, which becomes the request's base.
            promise, base = forms.fresh(_kinds(), "promise", promise)
        body = forms.edited_body(request.form.get("body"), request.form.get("body_sha256"), request.form.get("base_sha256"), base)
        text = proposals.status_update(
            promise, request.form.get("date", ""), request.form.get("status", ""), request.form.get("note", ""), _evidence_rows(), body
        )
        label = current_tree().statuses.get(request.form.get("status", ""))
        summary = f"{promise.title} : {label.label if label else request.form.get('status')}"
        return _save("status", _key("promise", promise), text, summary, change, base=base)
    except (proposals.FormError, workflow.WorkflowError) as error:
        return _form_failed("newsroom/status_form.html", error, **context)


def _suggested_passage():
    """(source, quote) a form was opened with (?source=…&quote=…, from the suggested passages), when
    the quote really is in that source; else None, and the form opens as usual."""
    source = current_tree().sources.get(request.args.get("source", ""))
    quote = " ".join(request.args.get("quote", "").split())
    if source is None or not quote or not FoldedText.cached(source.text).contains(quote):
        return None
    return source, quote


def _promise_context(promise, change=None, creating=False) -> dict:
    tree = current_tree()
    base_sha256 = current_file(promise.path)[1] if promise is not None and change is None else None
    return {
        "promise": promise, "change": change, "creating": creating, "statuses": tree.statuses, "base_sha256": base_sha256,
        "trackers": ordered(tree.trackers.values()), "people": tree.summaries("person"),
    }  # fmt: skip


@bp.route("/promesses/<promise_id>/modifier", methods=["GET", "POST"])
@requires("change.propose")
def edit_promise(promise_id: str):
    tree, promise = _published_promise(promise_id)
    return _promise_form(promise, None)


def _promise_form(promise, change, creating=False):
    context = _promise_context(promise, change, creating)
    if request.method == "GET":
        form = forms.prefill(_kinds(), promise, change, forms.promise_prefill, date.today())
        return render_template("newsroom/promise_form.html", form=form, **context)
    try:
        if creating:
            promise_id = (request.form.get("id") or "").strip() or proposals.slugify(request.form.get("title", ""))
            first = {"status": request.form.get("status"), "note": request.form.get("note")}
            text = proposals.edited(None, promise_id, request.form, request.form.get("body", ""), first)
            target = workflow.target_of(current_tree(), "promise", promise_id)
            return _save("create", target, text, f"Nouvelle promesse : {request.form.get('title', '').strip()}", change)
        base = None
        if change is None:
            promise, base = forms.fresh(_kinds(), "promise", promise)
            forms.ensure_unchanged(request.form.get("base_sha256"), base, "la fiche")
        text = proposals.edited(promise, promise.id, request.form, request.form.get("body", ""))
        return _save("edit", _key("promise", promise), text, f"{promise.title} : modification", change, base=base)
    except (proposals.FormError, workflow.WorkflowError) as error:
        return _form_failed("newsroom/promise_form.html", error, **context)


@bp.route("/promesses/nouvelle", methods=["GET", "POST"])
@requires("change.propose")
def new_promise():
    return _promise_form(None, None, creating=True)


def _source_context(change=None) -> dict:
    return {"change": change, "document_types": DOCUMENT_TYPES, "max_mb": current_app.config["MAX_UPLOAD_BYTES"] // 1_000_000}


@bp.route("/sources/nouvelle", methods=["GET", "POST"])
@requires("change.propose")
def new_source():
    return _source_form(None)


def _source_form(change):
    context = _source_context(change)
    if request.method == "GET":
        form = forms.source_prefill(_kinds(), change, date.today())
        return render_template("newsroom/source_form.html", form=form, **context)
    try:
        upload = request.files.get("file")
        sha256 = None
        if upload is not None and upload.filename:
            data = upload.read()
            document = read_document(upload.filename, data, Budget.from_settings(current_app.config))
            text, sha256 = document.text, document.sha256
            originals.archive(Path(current_app.config["CONTENT_DIR"]), data, document.kind, upload.filename)
        else:
            text = request.form.get("text", "")
            if change is not None:
                sha256 = request.form.get("sha256") or None
        source_id = (request.form.get("id") or "").strip() or proposals.slugify(request.form.get("title", ""))
        file_text = proposals.source(source_id, request.form, text, sha256)
        target = workflow.target_of(current_tree(), "source", source_id)
        if change is not None and target != change.target:
            raise workflow.WorkflowError(_("l'identifiant d'une demande existante ne change pas"))
        return _save("source", target, file_text, f"Nouvelle source : {request.form.get('title', '').strip()}", change)
    except (UploadError, proposals.FormError, workflow.WorkflowError) as error:
        return _form_failed("newsroom/source_form.html", error, **context)


# -- claims (fact-checks) ----------------------------------------------------------------------

CLAIM_EVIDENCE_ROWS = 3


@bp.get("/affirmations")
@requires("change.propose")
def pick_claim():
    tree = current_tree()
    claims = sorted(tree.claims.values(), key=lambda claim: (claim.reviewed_on, claim.id), reverse=True)
    return render_template("newsroom/pick_claim.html", claims=claims, verdicts=tree.verdicts)


@bp.route("/affirmations/nouvelle", methods=["GET", "POST"])
@requires("change.propose")
def new_claim():
    return _claim_form(None, None, creating=True)


@bp.route("/affirmations/<claim_id>/modifier", methods=["GET", "POST"])
@requires("change.propose")
def edit_claim(claim_id: str):
    found = current_tree().claims.get(claim_id)
    if found is None:
        abort(404)
    return _claim_form(found, None)


def _claim_rows() -> list[tuple[str, str, str]]:
    form = request.form
    # Rows of unequal length (a hand-made request) are padded, never silently dropped.
    columns = (form.getlist("evidence_source"), form.getlist("evidence_quote"), form.getlist("evidence_note"))
    return list(itertools.zip_longest(*columns, fillvalue=""))


def _claim_form(claim, change, creating=False):
    tree = current_tree()
    context = {
        "claim": claim,
        "change": change,
        "creating": creating,
        "verdicts": tree.verdicts,
        "sources": tree.summaries("source"),
        "all_promises": tree.summaries("promise"),
        "people": tree.summaries("person"),
        "today": date.today().isoformat(),
        "base_sha256": current_file(claim.path)[1] if claim is not None and change is None and claim.path else None,
    }
    if request.method == "GET":
        form = forms.prefill(_kinds(), claim, change, forms.claim_prefill, date.today())
        suggested = _suggested_passage() if change is None else None
        if suggested:  # from "Passages à examiner": one more piece of evidence
            form["evidence"] = [*form["evidence"], (suggested[0].id, suggested[1], "")]
        return render_template("newsroom/claim_form.html", form=form, rows=_rows_for(form["evidence"]), **context)
    rows = _claim_rows()
    form = dict(request.form, evidence=rows, promises=request.form.getlist("promises"), claimed_by=request.form.getlist("claimed_by"))
    context.update(rows=_rows_for(rows))
    try:
        if creating:
            claim_id = (request.form.get("id") or "").strip() or proposals.slugify(request.form.get("title", ""))
            target = workflow.target_of(current_tree(), "claim", claim_id)
            if change is not None and target != change.target:
                raise workflow.WorkflowError(_("l'identifiant d'une demande existante ne change pas"))
            text = proposals.claim(claim_id, request.form, rows, form["promises"], request.form.get("body", ""))
            return _save("claim", target, text, f"Nouvelle vérification : {request.form.get('title', '').strip()}", change)
        base = None
        if change is None:
            claim, base = forms.fresh(_kinds(), "claim", claim)
            forms.ensure_unchanged(request.form.get("base_sha256"), base, "la vérification")
        text = proposals.claim(claim.id, request.form, rows, form["promises"], request.form.get("body", ""))
        change_type, summary = forms.claim_change(claim, request.form.get("verdict", ""), tree.verdicts)
        return _save(change.change_type if change else change_type, _key("claim", claim), text, summary, change, base=base)
    except (proposals.FormError, workflow.WorkflowError) as error:
        return _form_failed("newsroom/claim_form.html", error, form=form, **context)


def _rows_for(evidence: list) -> int:
    """Evidence rows the form shows: those filled, and room for more."""
    return max(CLAIM_EVIDENCE_ROWS, len(evidence) + 1)


@bp.get("/citation")
@requires("change.propose")
def check_quote():
    """Whether a quote occurs in a source, by the rule of `kb check`: the form asks as one types."""
    tree = current_tree()
    source = tree.sources.get(request.args.get("source", ""))
    quote = " ".join(request.args.get("quote", "").split())
    if source is None:
        return jsonify(verified=False, message=_("choisissez d'abord le document source"))
    if not quote:
        return jsonify(verified=False, message="")
    text = FoldedText.cached(source.text)
    if text.contains(quote):
        return jsonify(verified=True, message=_("citation trouvée dans la source"))
    hint = prefix_hint(text, quote) or ""
    nearest = nearest_passage(source.text, quote)
    if nearest:
        message = _("citation introuvable dans « %(title)s » ; vouliez-vous citer : « %(passage)s » ?", title=source.title, passage=nearest)
        return jsonify(verified=False, nearest=nearest, message=message)
    return jsonify(verified=False, message=_("citation introuvable dans « %(title)s »%(hint)s", title=source.title, hint=hint))


# -- one request ------------------------------------------------------------------------------


@bp.get("/demandes/<int(max=2147483647):number>")
@requires("newsroom.enter")
def change(number: int):
    found = _change(number)
    if found.is_batch:
        return _batch_page(found)
    current_text, current_sha = current_file(publisher().path_of(found.target))
    moved = found.state in ("submitted", "approved", "conflict", "draft", "changes_requested") and current_sha != found.base_sha256
    return render_template(
        "newsroom/change.html",
        change=found,
        diff=file_diff(found.base_text, found.proposed_text, *_labels()),
        since_review=_since_last_review(found),
        moved=moved,
        their_diff=file_diff(found.base_text, current_text, *_labels()) if moved and current_text is not None else [],
        thread=workflow.thread(db(), found),
        problems=workflow.validate(current_tree(), found.target, found.proposed_text),
        is_author=found.author_id == current_user.id,
        editable=found.state in workflow.EDITABLE and found.author_id == current_user.id,
    )


BATCH_PAGE_SIZE = 50


def _batch_page(found: workflow.ChangeRequest):
    """A batch: its files listed, a diff each (a page of them at a time), what moved since, what kb check says now."""
    files = found.files
    shown, page, pages = page_of(files, BATCH_PAGE_SIZE)
    open_states = ("submitted", "approved", "conflict", "draft", "changes_requested")
    moved = [part for part in files if found.state in open_states and current_file(publisher().path_of(part.target))[1] != part.base_sha256]
    tree = current_tree()
    problems = [problem for part in shown for problem in workflow.validate(tree, part.target, part.proposed_text) if problem.severity == "error"]
    return render_template(
        "newsroom/batch.html",
        change=found,
        files=files,
        diffs=[(part, file_diff(part.base_text, part.proposed_text, *_labels())) for part in shown],
        page=page,
        pages=pages,
        page_size=BATCH_PAGE_SIZE,
        counts={kind: sum(1 for part in files if part.change_type == kind) for kind in ("create", "edit", "status")},
        moved=moved,
        thread=workflow.thread(db(), found),
        problems=problems,
        is_author=found.author_id == current_user.id,
        editable=found.state in workflow.EDITABLE and found.author_id == current_user.id,
    )


def _labels() -> tuple:
    """How the diff names statuses and verdicts: by their labels."""
    tree = current_tree()
    return (
        lambda key: tree.statuses[key].shown() if key in tree.statuses else key,
        lambda key: tree.verdicts[key].shown() if key in tree.verdicts else key,
    )


def _since_last_review(change: workflow.ChangeRequest):
    """What the author changed since an editor last asked for changes (None if nobody did)."""
    if change.state != "submitted":
        return None
    asked = [row for row in workflow.thread(db(), change) if row.action == "change.request_changes"]
    reviewed = asked[-1].data.get("proposed_text") if asked else None
    if reviewed is None or reviewed == change.proposed_text:
        return None
    return file_diff(reviewed, change.proposed_text, *_labels())


@bp.get("/demandes/<int(max=2147483647):number>/apercu")
@requires("newsroom.enter")
def preview(number: int):
    """The page citizens would see once published, from the proposed file."""
    found = _change(number)
    tree = current_tree()
    target, text = found.target, found.proposed_text
    if found.is_batch:  # one of its files, ?fichier=<target>
        part = next((part for part in found.files if part.target == request.args.get("fichier")), None)
        if part is None:
            abort(404)
        target, text = part.target, part.proposed_text
    key = workflow.key_of(tree, target)
    item, problems = tree.kinds[key.kind].parse(publisher().path_of(key), text)
    _previewable(item, problems)
    return render_item_page(tree, key.kind, item, preview_of=found)


def _previewable(item, problems) -> None:
    """A proposed file that does not read (a rebase over a broken published file) has no page to show."""
    errors = [str(problem) for problem in problems if problem.severity == "error"]
    if item is None or errors:
        raise workflow.WorkflowError(_("la version proposée ne se lit pas, pas d'aperçu possible : %(errors)s", errors="; ".join(errors)))


def _editable(number: int) -> workflow.ChangeRequest:
    found = _change(number)
    if found.author_id != current_user.id or found.state not in workflow.EDITABLE:
        raise workflow.InvalidTransition(_("seul l'auteur modifie sa demande, en brouillon ou quand des corrections sont demandées"))
    if found.is_batch:
        raise workflow.WorkflowError(_("une demande d'import se corrige en important à nouveau le tableur corrigé (lien sur la page de la demande)"))
    return found


@bp.route("/demandes/<int(max=2147483647):number>/modifier", methods=["GET", "POST"])
@requires("change.propose")
def amend(number: int):
    found = _editable(number)
    form = forms.amend_form(_kinds(), found)
    base = forms.base_item(_kinds(), found)
    if form == "status":
        return _status_form(base, found)
    if form in ("promise", "new_promise"):
        return _promise_form(base, found, creating=form == "new_promise")
    if form == "source":
        return _source_form(found)
    if form in ("claim", "new_claim"):
        return _claim_form(base, found, creating=form == "new_claim")
    return redirect(url_for("newsroom.edit_file", number=number))


@bp.route("/demandes/<int(max=2147483647):number>/fichier", methods=["GET", "POST"])
@requires("change.propose")
def edit_file(number: int):
    """The proposed file itself (YAML front matter and Markdown), for what the forms do not cover."""
    found = _editable(number)
    if request.method == "GET":
        return render_template("newsroom/file_form.html", change=found, form={"text": found.proposed_text}, folder=_kinds()[found.target_kind].folder)
    try:
        return _save(found.change_type, found.target, request.form.get("text", ""), found.summary, found)
    except workflow.WorkflowError as error:
        return _form_failed("newsroom/file_form.html", error, change=found, folder=_kinds()[found.target_kind].folder)


@bp.route("/fiches/nouvelle/<kind_name>", methods=["GET", "POST"])
@requires("change.propose")
def new_file(kind_name: str):
    """A new file of a kind the forms do not cover (a tracker, a person), written whole and reviewed like any request."""
    kinds = _kinds()
    if kind_name not in kinds or kinds[kind_name].example is None:
        abort(404)
    kind = kinds[kind_name]
    context = {"kind": kind}
    if request.method == "GET":
        return render_template("newsroom/new_file.html", form={"text": kind.example, "id": ""}, **context)
    try:
        target = workflow.target_of(current_tree(), kind.name, (request.form.get("id") or "").strip())
        return _save("file", target, request.form.get("text", ""), f"{kind.label} : {Key.split(target).id}")
    except workflow.WorkflowError as error:
        return _form_failed("newsroom/new_file.html", error, **context)


ACTIONS = ("submit", "withdraw", "request_changes", "reject", "approve", "publish", "rebase")


@bp.post("/demandes/<int(max=2147483647):number>/<action>")
@requires("newsroom.enter")
def act(number: int, action: str):
    """One step of the state machine; the workflow checks who may take it, from which state."""
    if action not in ACTIONS:
        abort(404)
    found = _change(number)
    comment = request.form.get("comment", "")
    tree = current_tree()
    if action == "submit":
        workflow.submit(db(), tree, found, current_user, comment)
        _submitted(found)
        flash(_("Demande envoyée en relecture."), "success")
    elif action == "withdraw":
        workflow.withdraw(db(), found, current_user, comment)
        flash(_("Demande retirée."), "info")
    elif action == "request_changes":
        workflow.request_changes(db(), found, current_user, comment)
        _reviewed(found, comment)
        flash(_("Corrections demandées à l'auteur."), "success")
    elif action == "reject":
        workflow.reject(db(), found, current_user, comment)
        _reviewed(found, comment)
        flash(_("Demande refusée."), "info")
    elif action in ("approve", "publish"):
        operation = workflow.approve if action == "approve" else workflow.publish
        extra = {"comment": comment} if action == "approve" else {}
        try:
            outcome = operation(db(), tree, found, current_user, publisher(), **extra)
        except workflow.PublishFailed as error:
            flash(_("Publication impossible : %(error)s", error=error), "error")
            return redirect(url_for("newsroom.change", number=number))
        if outcome == "published":
            _reviewed(found, comment)
            flash(_("Approuvée et publiée : la page publique, les flux et la recherche la montrent déjà."), "success")
        else:
            flash(_("Conflit : la fiche a été modifiée depuis que la demande a été faite. Rien n'a été écrasé ; l'auteur doit la mettre à jour."), "error")
    elif action == "rebase":
        clashes = workflow.rebase(db(), tree, found, current_user)
        if clashes:
            message = _(
                "Demande remise sur la version actuelle, en brouillon : vérifiez-la puis renvoyez-la. "
                "Champs modifiés des deux côtés (votre version gardée) : %(fields)s.",
                fields=", ".join(clashes),
            )
        else:
            message = _("Demande remise sur la version actuelle, en brouillon : vérifiez-la puis renvoyez-la.")
        flash(message, "info")
    return redirect(url_for("newsroom.change", number=number))


@bp.post("/demandes/<int(max=2147483647):number>/prendre")
@requires("change.review")
def take_review(number: int):
    """Take a submitted request's review: the other editors see it is yours."""
    found = _change(number)
    workflow.take_review(db(), found, current_user)
    flash(_("Relecture prise : les autres éditeurs voient qu'elle est la vôtre."), "success")
    return redirect(url_for("newsroom.change", number=number))


@bp.post("/demandes/<int(max=2147483647):number>/echeance")
@requires("change.review")
def review_due(number: int):
    """Set (or clear) the day a submitted request's review is due."""
    found = _change(number)
    errors: dict[str, str] = {}
    due = proposals.parse_date(request.form.get("review_due"), "review_due", errors)
    if errors:
        flash(errors["review_due"], "error")
        return redirect(url_for("newsroom.change", number=number))
    workflow.set_review_due(db(), found, current_user, due)
    flash(_("Échéance de relecture : %(day)s.", day=i18n.day(due)) if due else _("Échéance de relecture retirée."), "success")
    return redirect(url_for("newsroom.change", number=number))


# -- versions and reverts ---------------------------------------------------------------------


@bp.get("/promesses/<promise_id>/versions")
@requires("change.revert")
def versions(promise_id: str):
    tree, promise = _published_promise(promise_id)
    current_text, current_sha = current_file(promise.path)
    rows = [
        {"sha": sha, "at": at, "current": sha == current_sha, "diff": file_diff(current_text, text, *_labels())}
        for sha, text, at in workflow.versions(db(), _key("promise", promise))
    ]
    return render_template("newsroom/versions.html", promise=promise, rows=rows)


@bp.post("/promesses/<promise_id>/versions/<sha>/retour")
@requires("change.revert")
def revert(promise_id: str, sha: str):
    tree, promise = _published_promise(promise_id)
    found = workflow.propose_revert(db(), tree, current_user, _key("promise", promise), sha)
    workflow.submit(db(), tree, found, current_user)
    flash(_("Retour à cette version proposé : un autre éditeur doit l'approuver."), "success")
    return redirect(url_for("newsroom.change", number=found.id))



# The accounts page's routes, registered on `bp` as their module is imported.
from kb.web import accounts, evidence, imports  # noqa: E402, F401
