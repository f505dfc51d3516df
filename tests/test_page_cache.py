"""Pages are rendered once per state of the content and revalidated with ETags."""


def test_an_unchanged_page_revalidates_with_304_and_no_body(client):
    first = client.get("/promesses/balayeuses-communes")
    assert first.status_code == 200 and first.headers["ETag"]
    again = client.get("/promesses/balayeuses-communes", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""


def test_editing_a_file_changes_the_page_and_its_etag_at_once(client, content_dir):
    first = client.get("/promesses/balayeuses-communes")
    path = content_dir / "promises" / "balayeuses-communes.md"
    path.write_text(path.read_text(encoding="utf-8").replace("Acheter deux", "Acheter trois"), encoding="utf-8")
    after = client.get("/promesses/balayeuses-communes", headers={"If-None-Match": first.headers["ETag"]})
    assert after.status_code == 200
    assert "Acheter trois balayeuses" in after.get_data(as_text=True)
    assert after.headers["ETag"] != first.headers["ETag"]


def test_cached_pages_keep_their_security_headers(client):
    client.get("/")
    response = client.get("/")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"].startswith("public")


def test_errors_are_not_cached(client, content_dir):
    assert client.get("/promesses/nouvelle").status_code == 404
    source = (content_dir / "promises" / "balayeuses-communes.md").read_text(encoding="utf-8")
    (content_dir / "promises" / "nouvelle.md").write_text(source.replace("  - balayeuses\n", ""), encoding="utf-8")
    assert client.get("/promesses/nouvelle").status_code == 200
