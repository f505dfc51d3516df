"""What the whole site answers when something goes wrong: friendly pages (JSON on the API), never a 500 page for a known failure.

Operations raise domain errors (kb.newsroom.workflow, kb.newsroom.permissions, kb.content); this
module maps each to its status and page, in the site's style and in French.
"""

from __future__ import annotations

from flask import Flask, current_app, jsonify, render_template, request
from sqlalchemy.exc import OperationalError

from kb.config.i18n import gettext as _
from kb.content.model import ContentError
from kb.newsroom.permissions import NotAuthorized
from kb.newsroom.workflow import ChangeNotFound, InvalidTransition, WorkflowError
from kb.store.db import first_line


def init_app(app: Flask) -> None:
    app.register_error_handler(404, _not_found)
    app.register_error_handler(500, lambda error: (render_template("errors/500.html"), 500))
    app.register_error_handler(ContentError, _content_unavailable)
    app.register_error_handler(OperationalError, _database_unavailable)
    app.register_error_handler(400, _bad_request)
    app.register_error_handler(413, _too_large)
    # Titles translated when the error is answered, in the language of its request.
    app.register_error_handler(NotAuthorized, lambda error: _refused(error, 403, _("Accès refusé")))
    app.register_error_handler(ChangeNotFound, lambda error: _refused(error, 404, _("Introuvable")))
    app.register_error_handler(InvalidTransition, lambda error: _refused(error, 409, _("Action impossible")))
    app.register_error_handler(WorkflowError, lambda error: _refused(error, 400, _("Action impossible")))
    app.after_request(_security_headers)


def _refused(error: Exception, status: int, title: str):
    if request.path.startswith("/api/"):
        return jsonify({"error": title, "message": str(error)}), status
    return render_template("errors/error.html", title=title, message=str(error)), status


def _bad_request(error):
    if getattr(error, "description", None) == "csrf":
        message = _("Ce formulaire a expiré ou ne vient pas de ce site. Rechargez la page et recommencez.")
        return render_template("errors/error.html", title=_("Formulaire expiré"), message=message), 400
    return render_template("errors/error.html", title=_("Requête invalide"), message=_("La requête est incomplète ou mal formée.")), 400


def _too_large(error):
    limit = int(current_app.config["MAX_UPLOAD_BYTES"]) // 1_000_000
    message = _("Fichier trop gros : %(mb)s Mo au plus. Réduisez-le ou collez seulement le texte du document.", mb=limit)
    return render_template("errors/error.html", title=_("Fichier trop gros"), message=message), 413


def _database_unavailable(error: OperationalError):
    # The database is down or unreachable (restart, network): a 503 a load balancer and a person
    # understand, with Retry-After, instead of a 500. Public pages rarely get here (see change_record).
    current_app.logger.error("base de données indisponible : %s", first_line(error.orig or error))
    message = _("La base de données de la rédaction ne répond pas. Réessayez dans quelques instants ; rien n'a été enregistré.")
    if request.path.startswith("/api/"):
        response = jsonify({"error": "unavailable", "message": message})
    else:
        response = current_app.make_response(
            (render_template("errors/error.html", title=_("Service momentanément indisponible"), message=message), 503)
        )
    response.status_code = 503
    response.headers["Retry-After"] = "30"
    return response


def _content_unavailable(error: ContentError):
    current_app.logger.error("contenu illisible : %s", error)
    return render_template("errors/503.html"), 503


# No inline script or style anywhere (badge colours come from /statuts.css), so the policy can
# forbid them: content that slipped past sanitizing still could not run.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)

# The cards other sites embed (kb.web.public.embeds): framed by anyone, still no script at all.
EMBED_POLICY = (
    "default-src 'self'; script-src 'none'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors *; form-action 'none'"
)


def _security_headers(response):
    # The cards keep their policy on every answer, a 304 revalidating them included: a cache replaces
    # the stored headers with the 304's, and a card refusing to be framed would vanish from articles.
    response.headers.setdefault("Content-Security-Policy", EMBED_POLICY if request.path.startswith("/integrer/") else CONTENT_SECURITY_POLICY)
    # Older browsers ignore frame-ancestors: every page but the embeddable cards refuses framing twice.
    if "frame-ancestors *" not in response.headers["Content-Security-Policy"]:
        response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    return response


def _not_found(error):
    if request.path.startswith("/api/"):
        response = jsonify({"error": "not_found", "message": _("adresse inconnue de l'API")})
        response.headers["Access-Control-Allow-Origin"] = "*"
        return response, 404
    if request.path.startswith("/integrer/"):
        # A card whose item was withdrawn: the article framing it says so, instead of a refused frame.
        return render_template("embeds/gone.html"), 404, {"Content-Security-Policy": EMBED_POLICY}
    return render_template("errors/404.html"), 404
