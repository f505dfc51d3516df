"""People and institutions: promises and claims name their authors by id; each author has a page."""

import re
import shutil
from pathlib import Path

import pytest

from kb.content.check import check_content
from kb.content.tree import read_tree
from kb.ops.cli import main

from .conftest import DEMO_CONTENT, corrupt, the_error, write



def png_pixel() -> bytes:
    """A real PNG picture of one white pixel."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00\xff\xff\xff")) + chunk(b"IEND", b"")
PERSON_FILE = "people/bernard-gerard.md"




@pytest.fixture
def demo_client(tmp_path):
    from kb.web import create_app

    return create_app({"TESTING": True, "CONTENT_DIR": str(DEMO_CONTENT), "INSTANCE_DIR": str(tmp_path)}).test_client()


# -- kb check -------------------------------------------------------------------------------------


def test_an_author_id_without_a_file_is_an_error(content_dir):
    corrupt(content_dir, "made_by: bernard-gerard", "made_by: bernard-gerrard")
    problem = the_error(content_dir)
    assert problem.field == "made_by" and "auteur inconnu « bernard-gerrard » (aucun fichier people/bernard-gerrard.md)" in problem.message


def test_an_author_written_as_a_known_name_is_told_its_id(content_dir):
    corrupt(content_dir, "made_by: bernard-gerard", "made_by: Bernard Gérard")
    problem = the_error(content_dir)
    assert "écrivez son identifiant « bernard-gerard »" in problem.message


def test_an_author_written_as_an_unknown_name_is_told_how_to_migrate(content_dir):
    corrupt(content_dir, "made_by: bernard-gerard", "made_by: Jeanne Inconnue")
    assert "kb people migrate" in the_error(content_dir).message


def test_each_of_several_authors_is_checked_at_its_place_in_the_list(content_dir):
    corrupt(content_dir, "made_by: bernard-gerard", "made_by:\n  - bernard-gerard\n  - personne-absente")
    problem = the_error(content_dir)
    assert problem.field == "made_by[1]" and problem.line == 5


def test_a_person_of_an_unknown_kind_is_an_error(content_dir):
    corrupt(content_dir, "kind: person", "kind: maire", PERSON_FILE)
    problem = the_error(content_dir)
    assert problem.field == "kind" and "person ou institution" in problem.message


def test_a_photo_must_be_a_file_of_the_media_folder(content_dir):
    corrupt(content_dir, "aliases:", "photo:\n  file: bernard-gerard.jpg\n  credit: Ville de Marcq\n  licence: CC BY 4.0\naliases:", PERSON_FILE)
    problem = the_error(content_dir)
    assert problem.field == "photo.file" and "media/bernard-gerard.jpg" in problem.message


def test_a_photo_needs_its_credit_and_licence(content_dir):
    write(content_dir / "media" / "bernard-gerard.png", png_pixel())
    corrupt(content_dir, "aliases:", "photo:\n  file: bernard-gerard.png\n  credit: Ville de Marcq\naliases:", PERSON_FILE)
    assert the_error(content_dir).field == "photo.licence"


# -- kb people migrate --------------------------------------------------------------------------------


@pytest.fixture
def words_tree(tmp_path) -> Path:
    """The demo as it was before people had files: authors written in words."""
    root = Path(shutil.copytree(DEMO_CONTENT, tmp_path / "content"))
    shutil.rmtree(root / "people")
    for path in [*(root / "promises").glob("*.md"), *(root / "claims").glob("*.md")]:
        text = path.read_text(encoding="utf-8")
        text = text.replace("made_by:\n  - bernard-gerard\n  - sebastien-lepretre", "made_by: Bernard Gérard et Sébastien Leprêtre")
        for written, person in (("Martine Aubry", "martine-aubry"), ("Métropole européenne de Lille", "metropole-europeenne-de-lille"), ("Lille Métropole", "lille-metropole")):
            text = text.replace(f"made_by: {person}\n", f"made_by: {written}\n").replace(f"claimed_by: {person}\n", f"claimed_by: {written}\n")
        path.write_text(text, encoding="utf-8")
    return root


def test_migrating_names_gives_each_person_a_file_and_puts_the_ids_in_place(words_tree, runner):
    before = (words_tree / "promises" / "marcq-la-madeleine-mobilite.md").read_text(encoding="utf-8")
    result = runner.invoke(main, ["people", "migrate", "--content", str(words_tree)])
    assert result.exit_code == 0, result.output
    assert sorted(path.stem for path in (words_tree / "people").glob("*.md")) == [
        "bernard-gerard", "lille-metropole", "martine-aubry", "metropole-europeenne-de-lille", "sebastien-lepretre",
    ]  # fmt: skip
    tree = read_tree(words_tree)
    assert tree.people["metropole-europeenne-de-lille"].kind == "institution" and tree.people["martine-aubry"].kind == "person"
    assert tree.people["bernard-gerard"].aliases == ["Bernard Gérard", "Bernard Gérard et Sébastien Leprêtre"]
    after = (words_tree / "promises" / "marcq-la-madeleine-mobilite.md").read_text(encoding="utf-8")
    assert after == before.replace("made_by: Bernard Gérard et Sébastien Leprêtre", "made_by:\n  - bernard-gerard\n  - sebastien-lepretre")
    assert check_content(words_tree).errors == []


def test_a_dry_run_migration_writes_nothing(words_tree, runner):
    before = {path: path.read_bytes() for path in words_tree.rglob("*.md")}
    result = runner.invoke(main, ["people", "migrate", "--dry-run", "--content", str(words_tree)])
    assert result.exit_code == 0 and "5 fiche(s) de personnes et 49 fichier(s) seraient écrits" in result.output
    assert {path: path.read_bytes() for path in words_tree.rglob("*.md")} == before


# -- pages and API ------------------------------------------------------------------------------------


def test_the_people_index_shows_persons_and_institutions_apart(demo_client):
    html = demo_client.get("/elus").get_data(as_text=True)
    persons, institutions = html.split('id="groupe-2"')
    assert "Martine Aubry" in persons and "Métropole européenne de Lille" not in persons
    assert "Métropole européenne de Lille" in institutions and "Martine Aubry" not in institutions


def test_a_persons_page_shows_roles_promises_per_tracker_and_claims(demo_client):
    html = demo_client.get("/elus/bernard-gerard").get_data(as_text=True)
    assert "Député-maire de Marcq-en-Barœul" in html and "Les Républicains (LR)" in html
    assert 'href="/suivis/marcq-la-madeleine-2014-2020"' in html
    institution = demo_client.get("/elus/lille-metropole").get_data(as_text=True)
    assert "Affirmations vérifiées" in institution and 'href="/affirmations/lille-metropole-85-communes-2012"' in institution


def test_a_joint_promise_counts_for_each_of_its_authors(demo_client):
    for author in ("bernard-gerard", "sebastien-lepretre"):
        assert demo_client.get(f"/api/promises?made_by={author}").get_json()["total"] == 5
    page = demo_client.get("/promesses/marcq-la-madeleine-mobilite").get_data(as_text=True)
    assert '<a href="/elus/bernard-gerard">Bernard Gérard</a> et <a href="/elus/sebastien-lepretre">Sébastien Leprêtre</a>' in page
    search = demo_client.get("/api/search?q=mobilité").get_json()
    assert search["facets"]["made_by"].get("sebastien-lepretre") == search["facets"]["made_by"].get("bernard-gerard") >= 1


def test_a_persons_photo_is_served_with_its_credit_and_licence(demo_copy, tmp_path):
    from kb.web import create_app

    write(demo_copy / "media" / "martine-aubry.png", png_pixel())
    corrupt(demo_copy, "links:", "photo:\n  file: martine-aubry.png\n  credit: Ville de Lille\n  licence: CC BY-SA 4.0\nlinks:", "people/martine-aubry.md")
    client = create_app({"TESTING": True, "CONTENT_DIR": str(demo_copy), "INSTANCE_DIR": str(tmp_path / "i")}).test_client()
    html = client.get("/elus/martine-aubry").get_data(as_text=True)
    assert 'src="/elus/martine-aubry/photo"' in html and "Photo : Ville de Lille (CC BY-SA 4.0)" in html
    photo = client.get("/elus/martine-aubry/photo")
    assert photo.status_code == 200 and photo.mimetype == "image/png" and photo.data == png_pixel()
    assert client.get("/elus/bernard-gerard/photo").status_code == 404


def test_the_api_lists_people_and_gives_one_with_its_promises(demo_client):
    people = demo_client.get("/api/people").get_json()["people"]
    assert {person["id"]: person["kind"] for person in people}["lille-metropole"] == "institution"
    one = demo_client.get("/api/people/martine-aubry").get_json()
    assert one["promises"] == ["aubry-mutualisation-lille-lomme-hellemmes"] and one["scorecard"]["total"] == 1
    assert demo_client.get("/api/people/personne").status_code == 404
    promise = demo_client.get("/api/promises/aubry-mutualisation-lille-lomme-hellemmes").get_json()
    assert promise["made_by"] == ["martine-aubry"] and promise["authors"][0]["name"] == "Martine Aubry"


def test_the_csv_gives_authors_names_and_ids(demo_client):
    text = demo_client.get("/export/promises.csv?made_by=sebastien-lepretre").get_data(as_text=True)
    assert "Bernard Gérard et Sébastien Leprêtre,bernard-gerard ; sebastien-lepretre" in text


def test_a_promise_form_chooses_several_authors(newsroom, content_dir):
    write(content_dir / "people" / "sebastien-lepretre.md", "---\nname: Sébastien Leprêtre\nkind: person\n---\n")
    client = newsroom.client("journalist")
    form = client.get("/redaction/promesses/nouvelle").get_data(as_text=True)
    assert re.search(r'<select id="made_by" name="made_by" multiple required', form)
    response = client.post(
        "/redaction/promesses/nouvelle",
        data={
            "csrf_token": client.token, "title": "Une promesse à deux", "id": "", "tracker": "marcq-la-madeleine-2014-2020",
            "made_by": ["bernard-gerard", "sebastien-lepretre"], "territory": "Marcq-en-Barœul", "theme": "Sport",
            "made_on": "2017-04-11", "status": "planned", "then": "draft",
        },
    )  # fmt: skip
    assert response.status_code == 302
    change = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "bernard-gerard" in change and "sebastien-lepretre" in change


def test_a_person_without_fact_checks_lists_none(demo_client):
    html = demo_client.get("/elus/martine-aubry").get_data(as_text=True)
    assert "Affirmations vérifiées" not in html
    assert demo_client.get("/api/people/martine-aubry").get_json()["claims"] == []
