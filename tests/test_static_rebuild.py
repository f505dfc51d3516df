"""A configured static build follows the newsroom's publications."""

from kb.web import create_app
from kb.web.static_build import build_site

from .conftest import Newsroom
from .test_newsroom_pages import change_number, propose_status


def test_a_publication_rerenders_the_static_build(content_dir, tmp_path):
    out = tmp_path / "site"
    config = {"TESTING": True, "CONTENT_DIR": str(content_dir), "INSTANCE_DIR": str(tmp_path / "instance"),
              "CONTENT_RECHECK_SECONDS": 0, "STATIC_BUILD_DIR": str(out)}  # fmt: skip
    app = create_app(config)
    build_site(app, out, "http://127.0.0.1:5000/", processes=1)
    page = out / "promesses" / "balayeuses-communes" / "index.html"
    assert "Groupement de commandes" not in page.read_text(encoding="utf-8")
    newsroom = Newsroom(app)
    number = change_number(propose_status(newsroom, newsroom.client("journalist")))
    Newsroom.post(newsroom.client("editor"), f"/redaction/demandes/{number}/approve")
    [rebuilder] = app.extensions["kb.after_publish"]
    rebuilder.wait()
    assert rebuilder.builds == 1
    assert "Groupement de commandes confirmé." in page.read_text(encoding="utf-8")
    assert "Groupement de commandes" in (out / "flux.atom").read_text(encoding="utf-8")
