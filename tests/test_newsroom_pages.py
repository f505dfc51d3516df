"""The newsroom as journalists and editors use it: forms, uploads, review, publication, history."""

import io
import re

from kb.newsroom.workflow import ChangeRequest

from .conftest import Newsroom
from .pdfs import blank_pdf, pdf_with_text

PROMISE = "/redaction/promesses/balayeuses-communes"
SOURCE_ID = "deliberation-test"
QUOTE = "adhésion à la Centrale d’Achats Métropolitaine"


def propose_status(newsroom: Newsroom, client, quote=QUOTE, then="submit", note="Groupement de commandes confirmé.", **extra):
    data = {"date": "2023-01-15", "status": "done", "note": note, "source": [SOURCE_ID, "", ""], "quote": [quote, "", ""], "then": then}
    return Newsroom.post(client, f"{PROMISE}/statut", **(data | extra))


def change_number(response) -> int:
    return int(re.search(r"/redaction/demandes/(\d+)$", response.headers["Location"]).group(1))


def test_a_status_update_becomes_a_request_in_review(newsroom, content_dir):
    before = (content_dir / "promises" / "balayeuses-communes.md").read_bytes()
    response = propose_status(newsroom, newsroom.client("journalist"))
    assert response.status_code == 302
    with newsroom.session() as session:
        change = session.get(ChangeRequest, change_number(response))
        assert (change.change_type, change.state) == ("status", "submitted")
        assert "Groupement de commandes confirmé." in change.proposed_text
    assert (content_dir / "promises" / "balayeuses-communes.md").read_bytes() == before  # published only on approval


def test_a_quote_not_in_its_source_is_refused_with_the_reason_and_nothing_saved(newsroom):
    client = newsroom.client("journalist")
    response = propose_status(newsroom, client, quote="achat de trois balayeuses")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "citation introuvable dans la source « deliberation-test »" in page and "Rien n&#39;a été enregistré" in page
    assert "achat de trois balayeuses" in page  # what was typed is kept
    with newsroom.session() as session:
        assert session.query(ChangeRequest).count() == 0


def test_bad_dates_are_named_next_to_their_field(newsroom):
    response = propose_status(newsroom, newsroom.client("journalist"), date="2023-02-30")
    assert response.status_code == 400
    assert "date invalide « 2023-02-30 »" in response.get_data(as_text=True)


def test_the_quote_is_checked_as_one_types(newsroom):
    client = newsroom.client("journalist")
    found = client.get(f"/redaction/citation?source={SOURCE_ID}&quote=ADHESION a la centrale d'achats").get_json()
    missing = client.get(f"/redaction/citation?source={SOURCE_ID}&quote=adhésion à la centrale nucléaire").get_json()
    assert found["verified"] is True
    assert missing["verified"] is False and "le début « adhésion à la centrale » s'y trouve" in missing["message"]


def test_the_review_page_shows_a_word_level_diff_with_status_labels(newsroom):
    number = change_number(propose_status(newsroom, newsroom.client("journalist")))
    page = newsroom.client("editor").get(f"/redaction/demandes/{number}").get_data(as_text=True)
    page = re.sub(r'<span class="visually-hidden">[^<]*</span>', "", page)
    inserted = re.findall(r"<ins>(.*?)</ins>", page, re.S)
    assert any("2023-01-15 · réalisée — Groupement de commandes confirmé." in text for text in inserted)


def test_markup_in_a_proposal_is_shown_escaped_in_the_diff(newsroom):
    number = change_number(propose_status(newsroom, newsroom.client("journalist"), note='<script>alert("x")</script> <b>gras</b>'))
    page = newsroom.client("editor").get(f"/redaction/demandes/{number}").get_data(as_text=True)
    assert "<script>alert" not in page and "<b>gras</b>" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page


def test_approval_publishes_to_the_page_the_feed_and_search_at_once(newsroom):
    number = change_number(propose_status(newsroom, newsroom.client("journalist"), note="Groupement de commandes confirmé."))
    editor = newsroom.client("editor")
    public = newsroom.app.test_client()
    assert "Groupement de commandes" not in public.get("/promesses/balayeuses-communes").get_data(as_text=True)
    response = Newsroom.post(editor, f"/redaction/demandes/{number}/approve", comment="Vérifié.")
    assert response.status_code == 302
    page = public.get("/promesses/balayeuses-communes").get_data(as_text=True)
    assert "Groupement de commandes confirmé." in page
    assert "Journal des modifications" in page and "approuvé par Editor Test" in page
    assert "Groupement de commandes" in public.get("/promesses/balayeuses-communes.atom").get_data(as_text=True)
    results = public.get("/api/search?q=groupement commandes confirmé").get_json()["results"]
    assert [hit["id"] for hit in results] == ["balayeuses-communes"]


def test_request_changes_then_amend_keeps_the_form_prefilled(newsroom):
    journalist = newsroom.client("journalist")
    number = change_number(propose_status(newsroom, journalist))
    Newsroom.post(newsroom.client("editor"), f"/redaction/demandes/{number}/request_changes", comment="Ajoutez la date exacte.")
    page = journalist.get(f"/redaction/demandes/{number}").get_data(as_text=True)
    assert "corrections demandées" in page and "Ajoutez la date exacte." in page
    form = journalist.get(f"/redaction/demandes/{number}/modifier").get_data(as_text=True)
    assert "Groupement de commandes confirmé." in form and QUOTE in form.replace("&#39;", "'").replace("&#8217;", "’")
    response = propose_status(newsroom, journalist, note="Groupement de commandes du 15 janvier 2023.")
    assert response.status_code == 302  # a new request: the amend form posts to its own address
    response = Newsroom.post(
        journalist, f"/redaction/demandes/{number}/modifier", date="2023-01-15", status="done",
        note="Groupement du 15 janvier 2023.", source=[SOURCE_ID, "", ""], quote=[QUOTE, "", ""], then="submit",
    )  # fmt: skip
    assert response.status_code == 302
    with newsroom.session() as session:
        change = session.get(ChangeRequest, number)
        assert change.state == "submitted" and "Groupement du 15 janvier 2023." in change.proposed_text
        assert change.proposed_text.count("date: 2023-01-15") == 1  # amended, not added twice


def test_nobody_is_offered_to_review_their_own_request(newsroom):
    editor = newsroom.client("editor")
    number = change_number(propose_status(newsroom, editor))
    page = editor.get(f"/redaction/demandes/{number}").get_data(as_text=True)
    assert "Approuver et publier" not in page and "personne ne relit la sienne" in page
    response = Newsroom.post(editor, f"/redaction/demandes/{number}/approve")
    assert response.status_code == 403


def test_a_journalist_cannot_open_a_colleagues_request(newsroom):
    number = change_number(propose_status(newsroom, newsroom.client("admin")))
    assert newsroom.client("journalist").get(f"/redaction/demandes/{number}").status_code == 403


def test_an_unknown_request_is_a_404(newsroom):
    assert newsroom.client("editor").get("/redaction/demandes/999").status_code == 404


def test_an_action_from_the_wrong_state_is_a_409(newsroom):
    number = change_number(propose_status(newsroom, newsroom.client("journalist"), then="draft"))
    response = Newsroom.post(newsroom.client("editor"), f"/redaction/demandes/{number}/approve")
    assert response.status_code == 409 and "brouillon" in response.get_data(as_text=True)


def test_editing_fields_and_the_right_of_reply(newsroom):
    client = newsroom.client("journalist")
    form = client.get(f"{PROMISE}/modifier").get_data(as_text=True)
    base = re.search(r'name="base_sha256" value="([0-9a-f]{64})"', form).group(1)
    response = Newsroom.post(
        client, f"{PROMISE}/modifier", base_sha256=base, title="Acheter deux balayeuses en commun", tracker="marcq-la-madeleine-2014-2020", made_by="bernard-gerard",
        party="Les Républicains (LR)", list_name="", territory="Marcq-en-Barœul", theme="Propreté", made_on="2017-04-11",
        due="2018-12-31", reply="La Ville répond : achat groupé avec La Madeleine.", body="Analyse **revue**.", then="draft",
    )  # fmt: skip
    assert response.status_code == 302
    with newsroom.session() as session:
        change = session.get(ChangeRequest, change_number(response))
        assert "reply: 'La Ville répond : achat groupé avec La Madeleine.'" in change.proposed_text
        assert change.proposed_text.endswith("Analyse **revue**.\n") and change.change_type == "edit"


def test_an_edit_form_opened_before_a_publication_is_refused(newsroom, content_dir):
    client = newsroom.client("journalist")
    path = content_dir / "promises" / "balayeuses-communes.md"
    path.write_text(path.read_text(encoding="utf-8").replace("theme: Propreté", "theme: Voirie"), encoding="utf-8")
    response = Newsroom.post(client, f"{PROMISE}/modifier", base_sha256="0" * 64, title="x", made_by="y", territory="z", theme="t", made_on="2017-04-11")
    assert response.status_code == 400 and "a été modifiée depuis que vous avez ouvert ce formulaire" in response.get_data(as_text=True)


def test_creating_a_promise(newsroom):
    client = newsroom.client("journalist")
    response = Newsroom.post(
        client, "/redaction/promesses/nouvelle", title="Rouvrir la piscine de Lomme", id="", tracker="marcq-la-madeleine-2014-2020", made_by="bernard-gerard",
        territory="Lille", theme="Sport", made_on="2020-03-01", status="planned", note="Programme municipal 2020.", then="submit",
    )  # fmt: skip
    assert response.status_code == 302
    with newsroom.session() as session:
        change = session.get(ChangeRequest, change_number(response))
        assert change.target == "promise:rouvrir-la-piscine-de-lomme" and change.base_sha256 is None
    Newsroom.post(newsroom.client("editor"), f"/redaction/demandes/{change.id}/approve")
    assert newsroom.app.test_client().get("/promesses/rouvrir-la-piscine-de-lomme").status_code == 200


def test_creating_a_promise_with_an_existing_id_is_refused(newsroom):
    response = Newsroom.post(
        newsroom.client("journalist"), "/redaction/promesses/nouvelle", title="Doublon", id="balayeuses-communes",
        tracker="marcq-la-madeleine-2014-2020", made_by="bernard-gerard", territory="Lille", theme="Sport", made_on="2020-03-01", status="planned",
    )  # fmt: skip
    assert response.status_code == 400 and "existe déjà" in response.get_data(as_text=True)


def test_the_promise_form_offers_the_trackers_and_requires_one(newsroom):
    client = newsroom.client("journalist")
    form = client.get("/redaction/promesses/nouvelle").get_data(as_text=True)
    assert '<option value="marcq-la-madeleine-2014-2020">Marcq-en-Barœul et La Madeleine, mandat 2014-2020 (clos)</option>' in form
    response = Newsroom.post(
        client, "/redaction/promesses/nouvelle", title="Sans suivi", id="", made_by="bernard-gerard", territory="Lille", theme="Sport",
        made_on="2020-03-01", status="planned",
    )  # fmt: skip
    assert response.status_code == 400 and 'id="erreur-tracker"' in response.get_data(as_text=True)


def test_a_promise_naming_an_unknown_tracker_is_refused_with_the_reason(newsroom):
    response = Newsroom.post(
        newsroom.client("journalist"), "/redaction/promesses/nouvelle", title="Suivi fantôme", id="", tracker="nulle-part-2026-2032",
        made_by="bernard-gerard", territory="Lille", theme="Sport", made_on="2020-03-01", status="planned", then="submit",
    )  # fmt: skip
    assert response.status_code == 400 and "suivi inconnu « nulle-part-2026-2032 »" in response.get_data(as_text=True)


def upload(newsroom, client, name, data, **fields):
    form = {"csrf_token": client.token, "title": "Délibération du 3 février 2026", "id": "", "publisher": "Ville de Lille",
            "kind": "deliberation", "date": "2026-02-03", "then": "draft", "file": (io.BytesIO(data), name)}  # fmt: skip
    return client.post("/redaction/sources/nouvelle", data=form | fields, content_type="multipart/form-data")


def test_uploading_a_pdf_source_keeps_its_text_and_sha256(newsroom):
    import hashlib

    data = pdf_with_text("Le conseil municipal approuve la creation du service commun.")
    response = upload(newsroom, newsroom.client("journalist"), "deliberation.pdf", data)
    assert response.status_code == 302
    with newsroom.session() as session:
        change = session.get(ChangeRequest, change_number(response))
        assert change.target == "source:deliberation-du-3-fevrier-2026"
        assert "approuve la creation du service commun" in change.proposed_text
        assert f"sha256: {hashlib.sha256(data).hexdigest()}" in change.proposed_text


def test_an_empty_pdf_is_refused_clearly(newsroom):
    response = upload(newsroom, newsroom.client("journalist"), "scan.pdf", blank_pdf())
    assert response.status_code == 400 and "ce PDF ne contient pas de texte" in response.get_data(as_text=True)


def test_a_file_that_is_not_a_pdf_is_refused_clearly(newsroom):
    response = upload(newsroom, newsroom.client("journalist"), "photo.pdf", b"\x89PNG\r\n\x1a\n....")
    assert response.status_code == 400 and "ce n&#39;est pas un PDF" in response.get_data(as_text=True)


def test_a_word_document_becomes_a_source_with_its_paragraphs(newsroom):
    from .test_source_import import docx

    data = docx("Délibération n° 2026-14", "Le conseil approuve la création du service commun.")
    response = upload(newsroom, newsroom.client("journalist"), "deliberation.docx", data)
    assert response.status_code == 302
    with newsroom.session() as session:
        change = session.get(ChangeRequest, change_number(response))
        assert "Délibération n° 2026-14\n\nLe conseil approuve la création du service commun.\n" in change.proposed_text


def test_a_hostile_pdf_is_refused_within_the_budget_on_the_form(newsroom):
    from .pdfs import hostile_pdf

    newsroom.app.config["EXTRACT_SECONDS"] = 2
    response = upload(newsroom, newsroom.client("journalist"), "piege.pdf", hostile_pdf())
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and ("demande trop de calcul" in html or "trop longue (plus de 2 s)" in html)


def test_a_too_large_upload_is_refused_with_a_friendly_page(newsroom):
    newsroom.app.config["MAX_CONTENT_LENGTH"] = 50_000
    response = upload(newsroom, newsroom.client("journalist"), "gros.pdf", b"%PDF-1.4\n" + b"0" * 100_000)
    assert response.status_code == 413 and "Fichier trop gros" in response.get_data(as_text=True)


def test_pasted_text_becomes_a_source(newsroom):
    client = newsroom.client("journalist")
    form = {"csrf_token": client.token, "title": "Communiqué de la MEL", "id": "communique-mel-2026", "publisher": "MEL",
            "kind": "press-release", "date": "2026-02-03", "text": "La MEL annonce 12 nouvelles actions.", "then": "submit"}  # fmt: skip
    response = client.post("/redaction/sources/nouvelle", data=form)
    assert response.status_code == 302
    Newsroom.post(newsroom.client("editor"), f"/redaction/demandes/{change_number(response)}/approve")
    page = newsroom.app.test_client().get("/sources/communique-mel-2026").get_data(as_text=True)
    assert "La MEL annonce 12 nouvelles actions." in page


def test_the_preview_shows_the_proposed_page_marked_unpublished(newsroom):
    number = change_number(propose_status(newsroom, newsroom.client("journalist")))
    page = newsroom.client("editor").get(f"/redaction/demandes/{number}/apercu").get_data(as_text=True)
    assert "cette version n'est pas publiée" in page and "Groupement de commandes confirmé." in page


def test_a_conflict_shows_both_versions_and_the_author_rebases(newsroom, content_dir):
    journalist = newsroom.client("journalist")
    number = change_number(propose_status(newsroom, journalist))
    path = content_dir / "promises" / "balayeuses-communes.md"
    path.write_text(path.read_text(encoding="utf-8").replace("theme: Propreté", "theme: Voirie"), encoding="utf-8")
    Newsroom.post(newsroom.client("editor"), f"/redaction/demandes/{number}/approve")
    page = journalist.get(f"/redaction/demandes/{number}").get_data(as_text=True)
    assert "en conflit" in page and "Publié entre-temps par d'autres" in page and "Voirie" in page
    assert "theme: Voirie" in path.read_text(encoding="utf-8")
    Newsroom.post(journalist, f"/redaction/demandes/{number}/rebase")
    Newsroom.post(journalist, f"/redaction/demandes/{number}/submit")
    Newsroom.post(newsroom.client("editor"), f"/redaction/demandes/{number}/approve")
    text = path.read_text(encoding="utf-8")
    assert "theme: Voirie" in text and "Groupement de commandes confirmé." in text


def test_an_editor_reverts_to_an_earlier_version_through_review(newsroom, content_dir):
    path = content_dir / "promises" / "balayeuses-communes.md"
    original = path.read_text(encoding="utf-8")
    number = change_number(propose_status(newsroom, newsroom.client("journalist")))
    editor = newsroom.client("editor")
    Newsroom.post(editor, f"/redaction/demandes/{number}/approve")
    page = editor.get(f"{PROMISE}/versions").get_data(as_text=True)
    shas = re.findall(r"/versions/([0-9a-f]{64})/retour", page)
    assert len(shas) == 1  # the version before; the current one is not offered
    response = Newsroom.post(editor, f"{PROMISE}/versions/{shas[0]}/retour")
    revert = change_number(response)
    assert path.read_text(encoding="utf-8") != original  # proposed, not published
    Newsroom.post(newsroom.client("paul@redaction.fr"), f"/redaction/demandes/{revert}/approve")
    assert path.read_text(encoding="utf-8") == original


def test_admins_see_the_audit_log(newsroom):
    number = change_number(propose_status(newsroom, newsroom.client("journalist")))
    Newsroom.post(newsroom.client("editor"), f"/redaction/demandes/{number}/approve")
    page = newsroom.client("admin").get("/redaction/journal?action=promise.publish").get_data(as_text=True)
    assert "promise.publish" in page and "julie@redaction.fr" in page and "etienne@redaction.fr" in page
    assert newsroom.client("editor").get("/redaction/journal").status_code == 403


def test_the_journalist_sees_own_requests_and_their_state(newsroom):
    journalist = newsroom.client("journalist")
    propose_status(newsroom, journalist, then="draft")
    page = journalist.get("/redaction/").get_data(as_text=True)
    assert "brouillon" in page and "Acheter deux balayeuses en commun : réalisée" in page


def test_an_enormous_request_number_is_a_404_not_a_crash(newsroom):
    assert newsroom.client("editor").get("/redaction/demandes/99999999999999999999999").status_code == 404
    assert newsroom.client("admin").get("/redaction/journal?page=99999999999999999999").status_code == 200


def test_a_status_update_leaves_an_analysis_published_meanwhile_alone(newsroom, content_dir):
    client = newsroom.client("journalist")
    form = client.get(f"{PROMISE}/statut").get_data(as_text=True)
    shown = dict(re.findall(r'name="(base_sha256|body_sha256)" value="([0-9a-f]{64})"', form))
    path = content_dir / "promises" / "balayeuses-communes.md"
    path.write_text(path.read_text(encoding="utf-8").replace("ont **acheté**", "ont **loué**"), encoding="utf-8")
    old_body = "Les deux villes ont **acheté** deux balayeuses."
    response = propose_status(newsroom, client, body=old_body, **shown)  # the folded analysis, posted unchanged
    with newsroom.session() as session:
        change = session.get(ChangeRequest, change_number(response))
        assert "ont **loué**" in change.proposed_text
    response = propose_status(newsroom, client, body="Analyse réécrite.", **shown)
    assert response.status_code == 400 and "l&#39;analyse a été modifiée depuis" in response.get_data(as_text=True)


def test_other_requests_are_served_while_a_hostile_pdf_is_refused(newsroom):
    """The reading runs in a child process: a thread waiting on it holds no lock, and the GIL is free."""
    import threading
    import time

    from .pdfs import hostile_pdf

    journalist = newsroom.client("journalist")
    reader = newsroom.app.test_client()
    reader.get("/")  # warm: the first page of a process builds what later pages reuse
    outcome = {}

    def upload_hostile():
        started = time.monotonic()
        response = upload(newsroom, journalist, "piege.pdf", hostile_pdf())
        outcome.update(status=response.status_code, seconds=time.monotonic() - started, ended=time.monotonic())

    uploading = threading.Thread(target=upload_hostile)
    uploading.start()
    time.sleep(0.5)  # the child is reading page 1 by now
    served = []
    while uploading.is_alive() and len(served) < 5:
        started = time.monotonic()
        assert reader.get("/promesses").status_code == 200
        served.append((time.monotonic() - started, time.monotonic()))
    uploading.join(60)
    assert outcome["status"] == 400 and outcome["seconds"] < 30  # refused within the budget (3 s of CPU a page)
    assert served and all(ended < outcome["ended"] for _, ended in served)  # served while the upload was being refused
    assert max(seconds for seconds, _ in served) < 2.5


def test_a_published_source_request_leads_to_its_passages_to_examine(newsroom):
    data = pdf_with_text("Le conseil municipal approuve la creation du service commun.")
    number = change_number(upload(newsroom, newsroom.client("journalist"), "deliberation.pdf", data, then="submit"))
    editor = newsroom.client("editor")
    assert Newsroom.post(editor, f"/redaction/demandes/{number}/approve").status_code == 302
    page = editor.get(f"/redaction/demandes/{number}").get_data(as_text=True)
    assert 'href="/redaction/sources/deliberation-du-3-fevrier-2026/passages"' in page
