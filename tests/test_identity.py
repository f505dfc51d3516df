"""The newsroom's identity: its name, logo, colour, footer, pages, contact for errors, time zone."""

from datetime import datetime

import pytest

from kb.config.settings import SettingsError
from kb.content.check import check_content
from kb.web import create_app

from .conftest import DEMO_CONTENT, write

SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>'


def demo_app(tmp_path, **config):
    return create_app({"TESTING": True, "CONTENT_DIR": str(DEMO_CONTENT), "INSTANCE_DIR": str(tmp_path / "instance"), **config})


def test_the_header_shows_the_newsrooms_name_tagline_and_logo(tmp_path):
    logo = write(tmp_path / "logo.svg", SVG)
    client = demo_app(tmp_path, SITE_NAME="Mediacités Lille", SITE_TAGLINE="le suivi des promesses", SITE_LOGO=str(logo)).test_client()
    html = client.get("/").get_data(as_text=True)
    assert '<img class="logo" src="/logo" alt="" height="32">Mediacités Lille <span>le suivi des promesses</span>' in html
    assert "<title>Promesses tenues ? · Mediacités Lille</title>" in html
    response = client.get("/logo")
    assert response.mimetype == "image/svg+xml" and response.data == SVG


def test_the_accent_colour_is_in_the_generated_stylesheet(tmp_path):
    css = demo_app(tmp_path, SITE_COLOR="#7a1f5c").test_client().get("/statuts.css").get_data(as_text=True)
    assert ":root { --accent: #7a1f5c; }" in css


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("SITE_COLOR", "rouge", "#rrggbb"),
        ("SITE_COLOR", "#ffee00", "trop clair"),
        ("TIME_ZONE", "Europe/Lile", "fuseau inconnu"),
        ("FOOTER_LINKS", "Mentions légales https://example.org", "Libellé <adresse>"),
        ("SITE_LOGO", "/nulle/part/logo.png", "introuvable"),
        ("SITE_LOGO", __file__, "attendu une image"),
    ],
)
def test_identity_settings_that_cannot_be_used_stop_the_start_with_the_reason(tmp_path, name, value, message):
    with pytest.raises(SettingsError, match=message):
        demo_app(tmp_path, **{name: value})


def test_the_footer_lists_the_newsrooms_pages_its_links_and_contact(tmp_path):
    client = demo_app(tmp_path, FOOTER_LINKS="Mentions légales <https://example.org/ml>; Nous soutenir </soutenir>", CONTACT_EMAIL="redaction@example.org").test_client()
    footer = client.get("/suivis").get_data(as_text=True).split('<nav aria-label="Pied de page">')[1]
    for link in ('href="/pages/methodologie">Notre méthode', 'href="/pages/corrections"', 'href="https://example.org/ml">Mentions légales', 'href="/soutenir">Nous soutenir', 'href="mailto:redaction@example.org">Nous écrire'):
        assert link in footer


def test_the_newsrooms_pages_are_served_from_markdown(tmp_path):
    html = demo_app(tmp_path).test_client().get("/pages/corrections").get_data(as_text=True)
    assert "<h1>Corrections et signalement d&#39;erreurs</h1>" in html and "<strong>sans effacer l'historique</strong>" in html


def test_an_empty_page_is_an_error_of_kb_check(content_dir):
    write(content_dir / "pages" / "vide.md", "---\ntitle: Vide\n---\n")
    [problem] = check_content(content_dir).errors
    assert problem.path.endswith("pages/vide.md") and "page vide" in problem.message


def test_a_reader_reports_an_error_by_mail_with_the_page_named(tmp_path):
    client = demo_app(tmp_path, CONTACT_EMAIL="redaction@example.org").test_client()
    html = client.get("/promesses/aubry-mutualisation-lille-lomme-hellemmes").get_data(as_text=True)
    assert 'href="mailto:redaction@example.org?subject=Signaler%20une%20erreur%20%3A%20Approfondir%20la%20mutualisation' in html
    assert "promesses/aubry-mutualisation-lille-lomme-hellemmes" in html.split("Signaler une erreur</a>")[0].rsplit("mailto:", 1)[1]


def test_without_a_contact_address_the_report_link_leads_to_the_corrections_policy(tmp_path):
    html = demo_app(tmp_path).test_client().get("/affirmations/lille-metropole-85-communes-2012").get_data(as_text=True)
    assert '<a href="/pages/corrections">Signaler une erreur</a>' in html


@pytest.mark.parametrize(
    "zone, shown",
    [("Europe/Paris", "02/07/2026 00:30"), ("America/Montreal", "01/07/2026 18:30"), ("UTC", "01/07/2026 22:30")],
)
def test_times_of_the_database_are_shown_in_the_newsrooms_time_zone(tmp_path, zone, shown):
    app = demo_app(tmp_path, TIME_ZONE=zone)
    assert app.jinja_env.filters["local"](datetime(2026, 7, 1, 22, 30)) == shown


def test_the_audit_log_shows_paris_time_by_default(newsroom):
    admin = newsroom.client("admin")
    html = admin.get("/redaction/journal").get_data(as_text=True)
    assert "<th>Date</th>" in html and "(UTC)" not in html
    from datetime import timezone
    from zoneinfo import ZoneInfo

    now = datetime.now(timezone.utc).astimezone(ZoneInfo("Europe/Paris")).strftime("%d/%m/%Y %H:")
    assert now in html  # the login just logged, at Paris's hour
