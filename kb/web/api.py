"""The read API: open data as JSON, for anyone (CORS open)."""

from __future__ import annotations

from flask import Blueprint, jsonify

from .search_request import hit_url, run_search

bp = Blueprint("api", __name__, url_prefix="/api")


@bp.after_request
def open_to_every_origin(response):
    # Published content is public: any site may read it from a browser.
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/search")
def search():
    return jsonify(run_search().as_json(hit_url))
