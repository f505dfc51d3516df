"""The language of each answer: chosen at the request's start, said in every page, remembered when switched.

`?lang=en` switches (and a cookie remembers it for a year); without it, the cookie; without one,
the browser's Accept-Language; French by default (kb.config.i18n.choose). The page cache keeps
each language's page apart (kb.web.page_cache.page_key asks the same question), and answers say
`Vary: Accept-Language, Cookie` so a shared cache does the same.
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Flask, g, request

from kb.config import i18n

ONE_YEAR = 365 * 24 * 3600


def language_of(request_) -> str:
    """The language a werkzeug request is answered in."""
    return i18n.choose(request_.args.get("lang"), request_.cookies.get(i18n.COOKIE), request_.headers.get("Accept-Language"))


def init_app(app: Flask) -> None:
    app.jinja_env.add_extension("jinja2.ext.i18n")
    # newstyle: {{ _("… %(name)s", name=value) }} escapes the values, never the translation's markup.
    app.jinja_env.install_gettext_callables(i18n.translate, i18n.translate_plural, newstyle=True)
    app.add_template_global(i18n.language, "language")
    app.add_template_global(i18n.LANGUAGES, "languages")
    app.add_template_global(switch_url)
    app.add_template_filter(i18n.day, "day")
    app.add_template_filter(i18n.month, "month")
    app.add_template_filter(i18n.number, "number")
    app.add_template_filter(i18n.percent, "percent")

    @app.before_request
    def _choose() -> None:
        g.kb_language = i18n.set_language(language_of(request))

    @app.teardown_request
    def _forget(_error) -> None:
        # The thread serves other requests, runs commands in tests: the language of this one must not stay.
        token = g.pop("kb_language", None)
        if token is not None:
            i18n.reset_language(token)

    @app.after_request
    def _remember(response):
        asked = request.args.get("lang")
        if asked in i18n.LANGUAGES and request.cookies.get(i18n.COOKIE) != asked:
            response.set_cookie(i18n.COOKIE, asked, max_age=ONE_YEAR, samesite="Lax", secure=bool(app.config["SECURE_COOKIES"]), httponly=True)
        response.vary.update(("Accept-Language", "Cookie"))
        return response


def switch_url(wanted: str) -> str:
    """This page in another language: its address with ?lang= (the cookie then keeps the choice)."""
    args = [(name, value) for name, value in request.args.items(multi=True) if name != "lang"] + [("lang", wanted)]
    return request.script_root + request.path + "?" + urlencode(args)
