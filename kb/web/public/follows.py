"""Following by e-mail, for citizens with no account: ask on a page, confirm by the mailed link, manage, leave.

The operations are kb.newsroom.follows'; these views only turn them into pages. None of these pages
is kept in the page cache (their answers depend on a secret link or a posted address), and the forms
need no session: asking only sends a confirmation link, and every other action needs the secret of
a link mailed to the address.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, redirect, render_template, request, url_for

from kb.newsroom import follows
from kb.web.content_store import current_tree
from kb.web.csrf import exempt
from kb.web.database import db
from kb.web.public import bp
from kb.config.i18n import gettext as _


def _page(title: str, message: str, status: int = 200, **extra):
    response = current_app.make_response((render_template("public/follow.html", title=title, message=message, **extra), status))
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"  # the address holds a secret
    return response


def _sentence(error: Exception) -> str:
    """An operation's message ("adresse e-mail invalide : …") as a page says it: a capital, a full stop."""
    message = str(error)
    return message[:1].upper() + message[1:] + "."


def _same_site() -> bool:
    """Whether the form was posted from this site: another site's page must not make its visitors ask
    (each visitor a new client, every throttle but the address's would be escaped)."""
    fetched = request.headers.get("Sec-Fetch-Site")
    if fetched is not None and fetched not in ("same-origin", "none"):
        return False
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    try:
        return urlsplit(origin).netloc == request.host
    except ValueError:  # not an origin at all
        return False


def _mailer():
    return current_app.extensions.get("kb.mailer")


@bp.post("/suivre")
@exempt
def follow():
    mailer = _mailer()
    if mailer is None or not current_app.config["SITE_URL"]:
        return _page(_("Suivi indisponible"), _("Ce site n'envoie pas d'e-mails : le suivi par e-mail n'y est pas proposé."), 503)
    if not _same_site():
        return _page(_("Demande de suivi refusée"), _("Ce formulaire ne vient pas de ce site."), 403)
    if request.form.get("site_web"):  # a field people do not see: only robots fill it
        return _page(_("Vérifiez votre boîte"), _("Si l'adresse est valable, un lien de confirmation vient de lui être envoyé."))
    tree = current_tree()
    base_url = current_app.config["SITE_URL"].rstrip("/")
    try:
        pending = follows.ask(db(), tree, request.form.get("email", ""), request.form.get("target", ""), request.remote_addr or "?", base_url)
    except follows.FollowThrottled as error:
        response = _page(_("Trop de demandes"), _sentence(error), 429)
        response.headers["Retry-After"] = str(error.seconds)
        return response
    except follows.FollowError as error:
        referrer = request.referrer or ""
        back = referrer if referrer.startswith(request.host_url) else None  # only a way back to this site
        return _page(_("Demande de suivi refusée"), _sentence(error), 400, back=back)
    if pending is not None:
        follower = db().get(follows.Follower, pending.follower_id)
        target = follows.target_of(tree, pending.target)
        try:
            mailer.send_later([follows.confirmation_message(mailer, pending, follower, target, base_url)])
        except Exception:  # noqa: BLE001 — the request is saved; a message that cannot be written is logged, never a 500
            current_app.logger.exception("confirmation de suivi non envoyée")
    # The same answer whether the address already follows it or not: who follows what stays private.
    return _page(
        _("Vérifiez votre boîte"),
        _("Un lien de confirmation vient d'être envoyé à cette adresse. Tant qu'il n'est pas utilisé, vous ne recevrez rien d'autre."),
    )


@bp.get("/suivre/confirmer/<token>")
def follow_confirmation(token: str):
    # A link opened by a mail scanner must not confirm: the page asks for one click.
    try:
        pending = follows.pending(db(), token)
        target = follows.target_of(current_tree(), pending.target)
    except follows.FollowError as error:
        return _page(_("Lien non valable"), _sentence(error), 404)
    return _page(
        _("Confirmer le suivi"),
        _("Vous recevrez un e-mail quand « %(title)s » change : nouveau statut, nouvelle vérification.", title=target.title),
        action=url_for("public.follow_confirm", token=token),
        button=_("Confirmer"),
    )


@bp.post("/suivre/confirmer/<token>")
@exempt
def follow_confirm(token: str):
    try:
        follow = follows.confirm(db(), current_tree(), token)
        target = follows.target_of(current_tree(), follow.target)
    except follows.FollowError as error:
        return _page(_("Lien non valable"), _sentence(error), 404)
    follower = db().get(follows.Follower, follow.follower_id)
    return _page(
        _("C'est confirmé"),
        _("Vous suivez « %(title)s ». Vous recevrez un résumé de ses changements.", title=target.title),
        manage=url_for("public.follow_manage", token=follower.token),
    )


@bp.get("/suivre/<token>")
def follow_manage(token: str):
    try:
        follower = follows.follower_of(db(), token)
    except follows.FollowError as error:
        return _page(_("Lien non valable"), _sentence(error), 404)
    tree = current_tree()
    rows = []
    for follow in follows.follows_of(db(), follower):
        try:
            target = follows.target_of(tree, follow.target)
        except follows.FollowError:
            target = None
        rows.append((follow, target))
    response = current_app.make_response(render_template("public/follows.html", follower=follower, address=follows.masked(follower.email), rows=rows, token=token))
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.post("/suivre/<token>/arreter/<int:follow_id>")
@exempt
def follow_stop(token: str, follow_id: int):
    try:
        follower = follows.follower_of(db(), token)
    except follows.FollowError as error:
        return _page(_("Lien non valable"), _sentence(error), 404)
    follows.stop(db(), follower, follow_id)
    if db().get(follows.Follower, follower.id) is None:
        return _page(_("Adresse supprimée"), _("Vous ne suiviez plus rien : votre adresse a été supprimée."))
    return redirect(url_for("public.follow_manage", token=token), 303)


@bp.route("/suivre/<token>/desabonner", methods=["GET", "POST"])
@exempt
def follow_unsubscribe(token: str):
    """The one-click unsubscribe of every digest (List-Unsubscribe-Post, RFC 8058), and the delete link:
    every follow ends and the address is deleted. GET asks for the click (a link scanner must not)."""
    try:
        follower = follows.follower_of(db(), token)
    except follows.FollowError:
        return _page(_("Adresse supprimée"), _("Cette adresse n'est plus enregistrée : vous ne recevrez plus rien."))
    if request.method == "GET":
        return _page(
            _("Ne plus rien recevoir"),
            _("Tous vos suivis s'arrêtent et votre adresse est supprimée de ce site."),
            action=url_for("public.follow_unsubscribe", token=token),
            button=_("Supprimer mon adresse"),
        )
    follows.forget(db(), follower)
    return _page(_("Adresse supprimée"), _("Vous ne recevrez plus rien, et votre adresse a été supprimée de ce site."))
