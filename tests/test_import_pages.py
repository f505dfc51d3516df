"""The newsroom's import page: upload a spreadsheet, see each row, make one batch request, review and publish it."""

import base64
import hashlib
import io
import re

import openpyxl

from kb.store.changes import ChangeRequest

HEADER = "id,titre,suivi,statut,auteur_ids,territoire,theme,promis_le,echeance\r\n"
ROW = "piscine-{n},Rénover la piscine {n},marcq-la-madeleine-2014-2020,planned,bernard-gerard,Marcq-en-Barœul,Sport,2014-03-01,2019-12-31\r\n"


def csv_bytes(*rows: str) -> bytes:
    return (HEADER + "".join(rows)).encode("utf-8")


def upload(newsroom, client, data: bytes, name: str = "promesses.csv", **form):
    return client.post(
        "/redaction/import", data={"csrf_token": client.token, "file": (io.BytesIO(data), name), **form}, content_type="multipart/form-data"
    )


def hidden(html: str, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]*)"', html).group(1)


def make_request(newsroom, client, data: bytes, name: str = "promesses.csv"):
    html = upload(newsroom, client, data, name).get_data(as_text=True)
    form = {field: hidden(html, field) for field in ("name", "data", "sha256", "errors", "valid", "summary")}
    return newsroom.post(client, "/redaction/import/demande", **form)


def batches(newsroom) -> list[ChangeRequest]:
    with newsroom.session() as session:
        changes = session.query(ChangeRequest).filter_by(change_type="import").all()
        for change in changes:
            _ = [part.target for part in change.files]
        return changes


def test_the_import_page_explains_the_columns_and_asks_for_a_file(newsroom):
    html = newsroom.client("journalist").get("/redaction/import").get_data(as_text=True)
    assert 'type="file"' in html and "date_statut" in html and "/export/promises.csv" in html


def test_the_import_page_is_for_the_newsroom_only(client):
    response = client.get("/redaction/import")
    assert response.status_code == 302 and "/redaction/connexion" in response.headers["Location"]


def test_the_preview_shows_each_rows_outcome_and_the_refused_cells(newsroom):
    client = newsroom.client("journalist")
    bad = ROW.format(n=2).replace("planned", "finie")
    response = upload(newsroom, client, csv_bytes(ROW.format(n=1), bad))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "ligne 3, colonne <code>statut</code> : statut inconnu « finie »" in html
    assert "Créer la demande (1 fiche)" in html and batches(newsroom) == []


def test_a_file_that_is_no_spreadsheet_is_refused_saying_why(newsroom):
    response = upload(newsroom, newsroom.client("journalist"), b"%PDF-1.7\x00\x01\x02binaire", "rapport.pdf")
    assert response.status_code == 400
    assert "Rien n'a été importé" in response.get_data(as_text=True) and batches(newsroom) == []


def test_an_xlsx_sheet_is_previewed_like_a_csv(newsroom):
    book = openpyxl.Workbook()
    sheet = book.active
    for line in (HEADER + ROW.format(n=1)).strip().split("\r\n"):
        sheet.append(line.split(","))
    buffer = io.BytesIO()
    book.save(buffer)
    html = upload(newsroom, newsroom.client("journalist"), buffer.getvalue(), "promesses.xlsx").get_data(as_text=True)
    assert "Créer la demande (1 fiche)" in html and "piscine-1" in html


def test_the_valid_rows_become_one_batch_request_shown_file_by_file(newsroom):
    client = newsroom.client("journalist")
    response = make_request(newsroom, client, csv_bytes(ROW.format(n=1), ROW.format(n=2)))
    [change] = batches(newsroom)
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/redaction/demandes/{change.id}")
    assert (change.state, [part.target for part in change.files]) == ("draft", ["promise:piscine-1", "promise:piscine-2"])
    html = client.get(f"/redaction/demandes/{change.id}").get_data(as_text=True)
    assert "promises/piscine-1.md" in html and "promises/piscine-2.md" in html and "Rénover la piscine 2" in html


def test_a_request_is_made_only_of_the_previewed_file(newsroom):
    client = newsroom.client("journalist")
    data = csv_bytes(ROW.format(n=1))
    other = base64.b64encode(csv_bytes(ROW.format(n=9))).decode()
    response = newsroom.post(client, "/redaction/import/demande", name="a.csv", data=other, sha256=hashlib.sha256(data).hexdigest(), errors="0", valid="1")
    assert response.status_code == 400 and batches(newsroom) == []


def test_a_second_editor_approves_the_batch_and_every_promise_is_published(newsroom):
    editor = newsroom.client("editor")
    make_request(newsroom, editor, csv_bytes(*(ROW.format(n=n) for n in range(1, 4))))
    [change] = batches(newsroom)
    newsroom.post(editor, f"/redaction/demandes/{change.id}/submit")
    other = newsroom.client("paul@redaction.fr")
    response = newsroom.post(other, f"/redaction/demandes/{change.id}/approve")
    assert response.status_code == 302
    [change] = batches(newsroom)
    assert change.state == "published"
    public = newsroom.app.test_client()
    assert "Rénover la piscine 3" in public.get("/promesses/piscine-3").get_data(as_text=True)
    assert public.get("/suivis/marcq-la-madeleine-2014-2020").get_data(as_text=True).count("Rénover la piscine") == 3


def test_the_author_cannot_approve_their_own_batch(newsroom):
    editor = newsroom.client("editor")
    make_request(newsroom, editor, csv_bytes(ROW.format(n=1)))
    [change] = batches(newsroom)
    newsroom.post(editor, f"/redaction/demandes/{change.id}/submit")
    assert newsroom.post(editor, f"/redaction/demandes/{change.id}/approve").status_code == 403


def test_a_batch_sent_back_is_replaced_by_the_corrected_sheet(newsroom):
    journalist = newsroom.client("journalist")
    make_request(newsroom, journalist, csv_bytes(ROW.format(n=1)))
    [change] = batches(newsroom)
    newsroom.post(journalist, f"/redaction/demandes/{change.id}/submit")
    newsroom.post(newsroom.client("editor"), f"/redaction/demandes/{change.id}/request_changes", comment="Il manque la piscine 2.")
    html = upload(newsroom, journalist, csv_bytes(ROW.format(n=1), ROW.format(n=2)), replace=str(change.id)).get_data(as_text=True)
    form = {field: hidden(html, field) for field in ("name", "data", "sha256", "errors", "valid", "summary", "replace")}
    assert newsroom.post(journalist, "/redaction/import/demande", **form).status_code == 302
    [change] = batches(newsroom)
    assert [part.target for part in change.files] == ["promise:piscine-1", "promise:piscine-2"] and change.state == "changes_requested"


def test_one_file_of_a_batch_can_be_previewed_as_its_page(newsroom):
    client = newsroom.client("journalist")
    make_request(newsroom, client, csv_bytes(ROW.format(n=1)))
    [change] = batches(newsroom)
    html = client.get(f"/redaction/demandes/{change.id}/apercu?fichier=promise:piscine-1").get_data(as_text=True)
    assert "Rénover la piscine 1" in html
    assert client.get(f"/redaction/demandes/{change.id}/apercu?fichier=promise:autre").status_code == 404


def test_the_blank_model_has_the_columns_an_import_reads(newsroom):
    response = newsroom.client("journalist").get("/redaction/import/modele.csv")
    header = response.get_data(as_text=True).lstrip("\ufeff").strip()
    assert header == "id,titre,suivi,statut,auteur_ids,parti,liste,territoire,theme,promis_le,echeance,date_statut,source,citation,note"


def test_the_public_export_edited_and_imported_again_changes_exactly_the_edited_cell(newsroom):
    exported = newsroom.app.test_client().get("/export/promises.csv").get_data(as_text=True)
    edited = exported.replace(",Propreté,", ",Voirie,")
    assert edited != exported
    html = upload(newsroom, newsroom.client("journalist"), edited.encode("utf-8"), "promesses.csv").get_data(as_text=True)
    assert "<strong>1</strong> modifiée" in html and "<strong>0</strong> refusée" in html
    assert re.search(r"balayeuses-communes</code>.*?<td>theme</td>", html, re.S)


def test_an_export_saved_by_french_excel_reads_the_same(newsroom):
    import csv

    exported = newsroom.app.test_client().get("/export/promises.csv").get_data(as_text=True).lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(exported)))
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=";", lineterminator="\r\n").writerows(rows)  # semicolons, Windows-1252, no BOM
    html = upload(newsroom, newsroom.client("journalist"), buffer.getvalue().encode("cp1252"), "promesses.csv").get_data(as_text=True)
    assert "<strong>1</strong> inchangée" in html and "<strong>0</strong> refusée" in html


def test_a_tampered_form_or_request_number_gets_a_page_not_an_error(newsroom):
    client = newsroom.client("journalist")
    data = csv_bytes(ROW.format(n=1))
    form = {"name": "a.csv", "data": base64.b64encode(data).decode(), "sha256": hashlib.sha256(data).hexdigest()}
    assert newsroom.post(client, "/redaction/import/demande", errors="abc", valid="x", **form).status_code == 200  # the preview again
    assert client.get("/redaction/import?replace=99999999999999999999").status_code == 200
    assert batches(newsroom) == []


def test_a_batch_is_not_edited_through_the_file_editor(newsroom):
    client = newsroom.client("journalist")
    make_request(newsroom, client, csv_bytes(ROW.format(n=1)))
    [change] = batches(newsroom)
    for url in (f"/redaction/demandes/{change.id}/modifier", f"/redaction/demandes/{change.id}/fichier"):
        response = client.get(url)
        assert response.status_code == 400 and "important à nouveau le tableur" in response.get_data(as_text=True)
