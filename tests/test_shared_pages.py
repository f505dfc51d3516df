"""Pages that list content are drawn once per machine: a worker takes the copy another one drew, if it knows enough."""

from pathlib import Path

from kb.web import create_app

AUBRY = "aubry-mutualisation-lille-lomme-hellemmes"


def _worker(content: Path, instance: Path, database_url: str):
    """One worker of a machine: the machine's instance folder and database, its own memory."""
    return create_app(
        {
            "TESTING": True,
            "CONTENT_DIR": str(content),
            "INSTANCE_DIR": str(instance),
            "DATABASE_URL": database_url,
            "CONTENT_RECHECK_SECONDS": 3600,
            "INDEX_SYNC_SECONDS": 3600,
            "PUBLICATION_POLL_SECONDS": 0,
        }
    )


def _mark_copies(instance: Path, old: bytes, new: bytes) -> int:
    """Change the drawn copies in place (same length), so that a page taken from them shows it."""
    assert len(old) == len(new)
    marked = 0
    for path in (instance / "index.pages").iterdir():
        if not path.name.startswith(".") and old in path.read_bytes():
            path.write_bytes(path.read_bytes().replace(old, new))
            marked += 1
    return marked


def test_a_list_drawn_by_one_worker_is_taken_by_another_without_drawing(demo_copy, tmp_path, database_url):
    first = _worker(demo_copy, tmp_path / "instance", database_url)
    second = _worker(demo_copy, tmp_path / "instance", database_url)
    assert first.test_client().get("/promesses").status_code == 200
    assert _mark_copies(tmp_path / "instance", b"<h1>", b"<h6>") == 1
    assert "<h6>" in second.test_client().get("/promesses").get_data(as_text=True)


def test_a_copy_drawn_before_a_change_this_worker_knows_is_not_taken(demo_copy, tmp_path, database_url):
    first = _worker(demo_copy, tmp_path / "instance", database_url)
    second = _worker(demo_copy, tmp_path / "instance", database_url)
    first.test_client().get("/promesses")
    second.test_client().get("/promesses")
    path = demo_copy / "promises" / f"{AUBRY}.md"
    path.write_text(path.read_text(encoding="utf-8").replace("title: ", "title: (zqcopie) ", 1), encoding="utf-8")
    second.extensions["kb.content"].scan()  # the change is logged; the second worker follows it
    _mark_copies(tmp_path / "instance", b"<h1>", b"<h6>")
    page = second.test_client().get("/promesses").get_data(as_text=True)
    assert "(zqcopie)" in page and "<h6>" not in page
    # Drawn anew knowing the change, it is the copy the first worker takes once it knows it too.
    _mark_copies(tmp_path / "instance", b"<h1>", b"<h6>")
    assert "<h6>" in first.test_client().get("/promesses").get_data(as_text=True)


def test_a_promise_page_drawn_by_one_worker_is_taken_by_another(demo_copy, tmp_path, database_url):
    first = _worker(demo_copy, tmp_path / "instance", database_url)
    second = _worker(demo_copy, tmp_path / "instance", database_url)
    first.test_client().get(f"/promesses/{AUBRY}")
    assert _mark_copies(tmp_path / "instance", b"<h1", b"<h6") == 1
    assert "<h6" in second.test_client().get(f"/promesses/{AUBRY}").get_data(as_text=True)


def test_past_its_bound_the_folder_keeps_the_copies_used_last(demo_copy, tmp_path, database_url, monkeypatch):
    from kb.web import shared_pages

    worker = _worker(demo_copy, tmp_path / "instance", database_url)
    client = worker.test_client()
    for path in ("/promesses", "/sources", "/flux.atom"):
        client.get(path)
    folder = tmp_path / "instance" / "index.pages"
    sizes = sorted(path.stat().st_size for path in folder.iterdir() if not path.name.startswith("."))
    monkeypatch.setattr(shared_pages, "MAX_BYTES", sum(sizes) - 1)
    worker.extensions["kb.shared_pages"]._prune()
    assert len([path for path in folder.iterdir() if not path.name.startswith(".")]) < len(sizes)


def test_while_another_process_draws_a_list_a_worker_gives_its_older_copy(demo_copy, tmp_path, database_url):
    worker = _worker(demo_copy, tmp_path / "instance", database_url)
    client = worker.test_client()
    before = client.get("/promesses").get_data(as_text=True)
    path = demo_copy / "promises" / f"{AUBRY}.md"
    path.write_text(path.read_text(encoding="utf-8").replace("title: ", "title: (zqattente) ", 1), encoding="utf-8")
    worker.extensions["kb.content"].scan()
    key = next(iter(worker.extensions["kb.pages"]._pages))
    with worker.extensions["kb.shared_pages"].drawing(key) as alone:  # as another process would hold it
        assert alone
        stale = client.get("/promesses")
        assert stale.get_data(as_text=True) == before and stale.headers["Cache-Control"] == "no-cache"
    assert "(zqattente)" in client.get("/promesses").get_data(as_text=True)


def test_copies_stamped_in_another_change_log_are_not_taken(demo_copy, tmp_path, database_url):
    # The instance folder outlived its database (an older backup restored): the stamps are places
    # in a log that is no more.
    first = _worker(demo_copy, tmp_path / "instance", database_url)
    first.test_client().get("/promesses")
    _mark_copies(tmp_path / "instance", b"<h1>", b"<h6>")
    (tmp_path / "instance" / "index.catalog-changes").write_text("999999\n")
    second = _worker(demo_copy, tmp_path / "instance", database_url)
    assert "<h6>" not in second.test_client().get("/promesses").get_data(as_text=True)
