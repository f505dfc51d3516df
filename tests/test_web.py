def test_home_lists_the_published_promises_in_french(client):
    response = client.get("/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert '<html lang="fr">' in page
    assert "Acheter deux balayeuses en commun" in page
    assert "réalisée" in page


def test_a_promise_edited_on_disk_is_served_without_restart(client, content_dir):
    path = content_dir / "promises" / "balayeuses-communes.md"
    client.get("/")
    path.write_text(path.read_text(encoding="utf-8").replace("Acheter deux balayeuses", "Acheter trois balayeuses"), encoding="utf-8")
    assert "Acheter trois balayeuses" in client.get("/").get_data(as_text=True)


def test_a_broken_file_is_left_out_instead_of_breaking_the_site(client, content_dir):
    (content_dir / "promises" / "cassee.md").write_text("---\ntitle: [\n---\n", encoding="utf-8")
    response = client.get("/")
    assert response.status_code == 200
    assert "Acheter deux balayeuses" in response.get_data(as_text=True)


def test_unknown_page_is_a_french_404(client):
    response = client.get("/nulle-part")
    assert response.status_code == 404
    assert "Page introuvable" in response.get_data(as_text=True)


def test_a_missing_content_directory_is_a_friendly_page(app, content_dir):
    import shutil

    shutil.rmtree(content_dir)
    response = app.test_client().get("/")
    assert response.status_code == 503
    assert "momentanément indisponible" in response.get_data(as_text=True)


def test_a_looping_link_in_the_content_does_not_break_the_site(client, content_dir):
    (content_dir / "promises" / "boucle.md").symlink_to(content_dir / "promises" / "boucle.md")
    assert client.get("/").status_code == 200
