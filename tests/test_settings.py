"""Settings: declared once (kb/config/settings.py), documented (docs/settings.md), read from defaults, kb.toml and the environment."""

from __future__ import annotations

import ast
import os
import re
import secrets
import tomllib
from pathlib import Path

import flask
import flask_login
import pytest
from sqlalchemy import select

from kb.config import settings
from kb.config.settings import BY_NAME, SETTINGS, SettingsError
from kb.ops.cli import main
from kb.store.db import open_database
from kb.store.throttle import LIMITS, LoginFailure
from kb.web import create_app

from .conftest import REPO, csrf_token, write

DOCS = REPO / "docs" / "settings.md"
# Keys the app derives from the settings for itself, never set by anyone: not settings.
DERIVED = {"SECRET_KEY_GENERATED"}


# -- the table of docs/settings.md --------------------------------------------------------------


def _documented() -> list[tuple[str, str]]:
    """(name, default) of each row of the settings table, as written."""
    rows = []
    for line in DOCS.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("| `") and len(cells) == 3:
            rows.append((cells[0].strip("`"), _unquoted(cells[1])))
    return rows


def _unquoted(cell: str) -> str:
    """A cell that is one code span, without its backticks (`false` → false)."""
    return cell[1:-1] if re.fullmatch(r"`[^`]*`", cell) else cell


def _expected_default(setting: settings.Setting) -> str:
    if setting.shown_default is not None:
        return setting.shown_default
    if isinstance(setting.default, bool):
        return "true" if setting.default else "false"
    return str(setting.default)


def test_every_setting_is_in_the_documented_table_with_its_default():
    table = dict(_documented())
    assert {setting.name: table.get(setting.name) for setting in SETTINGS} == {
        setting.name: _expected_default(setting) for setting in SETTINGS
    }


def test_the_documented_table_lists_only_settings_each_once():
    names = [name for name, _ in _documented()]
    assert sorted(set(names) - set(BY_NAME)) == []
    assert len(names) == len(set(names))


# -- configuration keys the code reads ----------------------------------------------------------


def _is_config(node: ast.AST) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "config") or (isinstance(node, ast.Name) and node.id == "config")


def config_keys(source: str) -> set[str]:
    """The keys a module's code reads or writes in a Flask config: config["X"], config.get("X"), config.update(X=…)."""
    keys = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Subscript) and _is_config(node.value):
            if isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str):
                keys.add(node.slice.value)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and _is_config(node.func.value):
            if node.func.attr in ("get", "setdefault", "pop") and node.args and isinstance(node.args[0], ast.Constant):
                keys.add(node.args[0].value)
            elif node.func.attr == "update":
                keys.update(keyword.arg for keyword in node.keywords if keyword.arg)
                for argument in node.args:
                    if isinstance(argument, ast.Dict):
                        keys.update(key.value for key in argument.keys if isinstance(key, ast.Constant))
    return keys


def _keys_under(directory: Path) -> set[str]:
    return set().union(*(config_keys(path.read_text(encoding="utf-8")) for path in directory.rglob("*.py")))


def test_the_scan_finds_a_config_key_in_every_way_code_reads_or_sets_one():
    source = """
app.config["NEW_THING"] = 1
value = current_app.config.get("OTHER_THING", 2)
config.setdefault("THIRD_THING", 3)
app.config.update(FOURTH_THING=4, **more)
app.config.update({"FIFTH_THING": 5})
"""
    assert config_keys(source) == {"NEW_THING", "OTHER_THING", "THIRD_THING", "FOURTH_THING", "FIFTH_THING"}


def test_every_config_key_kb_reads_is_a_declared_setting():
    libraries = set(flask.Flask.default_config) | _keys_under(Path(flask_login.__file__).parent)
    undeclared = _keys_under(REPO / "kb") - set(BY_NAME) - libraries - DERIVED
    assert sorted(undeclared) == [], "declare these in kb/config/settings.py (and document them in docs/settings.md)"


# -- where values come from ---------------------------------------------------------------------


def _instance(tmp_path: Path, toml: str | bytes | None = None) -> Path:
    directory = tmp_path / "instance"
    directory.mkdir(exist_ok=True)
    if toml is not None:
        write(directory / "kb.toml", toml)
    return directory


def test_a_setting_set_nowhere_has_its_default(tmp_path):
    values = settings.load({}, instance_dir=_instance(tmp_path))
    assert {setting.name: values[setting.name] for setting in SETTINGS if setting.default is not None} == {
        setting.name: setting.default for setting in SETTINGS if setting.default is not None
    }


def test_the_instance_file_overrides_the_defaults(tmp_path):
    instance = _instance(tmp_path, 'SITE_NAME = "Le Courrier"\nTHREADS = 12\nSECURE_COOKIES = true\n')
    values = settings.load({}, instance_dir=instance)
    assert (values["SITE_NAME"], values["THREADS"], values["SECURE_COOKIES"]) == ("Le Courrier", 12, True)


def test_the_environment_overrides_the_instance_file(tmp_path):
    instance = _instance(tmp_path, 'SITE_NAME = "Le Courrier"\nTHREADS = 12\n')
    values = settings.load({"KB_SITE_NAME": "La Gazette", "KB_THREADS": "2"}, instance_dir=instance)
    assert (values["SITE_NAME"], values["THREADS"]) == ("La Gazette", 2)


@pytest.mark.parametrize("variable", ["DATABASE_URL", "KB_DATABASE_URL"])
def test_the_database_url_of_the_environment_overrides_the_instance_file(tmp_path, variable):
    instance = _instance(tmp_path, 'DATABASE_URL = "sqlite:////srv/kb/fichier.sqlite3"\n')
    values = settings.load({variable: "postgresql://kb@db.interne/kb"}, instance_dir=instance)
    assert values["DATABASE_URL"] == "postgresql://kb@db.interne/kb"


def test_kb_config_names_the_file_read_instead_of_the_instance_one(tmp_path):
    instance = _instance(tmp_path, 'SITE_NAME = "Le Courrier"\nTHREADS = 12\n')
    other = write(tmp_path / "ailleurs" / "production.toml", 'SITE_NAME = "La Gazette"\n')
    values = settings.load({"KB_CONFIG": str(other)}, instance_dir=instance)
    assert (values["SITE_NAME"], values["THREADS"]) == ("La Gazette", BY_NAME["THREADS"].default)


def test_kb_instance_dir_says_whose_kb_toml_is_read(tmp_path):
    instance = _instance(tmp_path, 'SITE_NAME = "Le Courrier"\n')
    values = settings.load({"KB_INSTANCE_DIR": str(instance)})
    assert (values["INSTANCE_DIR"], values["SITE_NAME"]) == (str(instance.resolve()), "Le Courrier")


def test_an_app_reads_the_kb_toml_of_its_instance_directory(tmp_path, content_dir):
    instance = _instance(tmp_path, 'SITE_NAME = "Le Courrier"\n')
    app = create_app({"TESTING": True, "CONTENT_DIR": str(content_dir), "INSTANCE_DIR": str(instance)})
    assert app.config["SITE_NAME"] == "Le Courrier"


# -- wrong values -------------------------------------------------------------------------------


def test_a_wrong_value_in_the_environment_names_the_variable_and_the_setting(tmp_path):
    with pytest.raises(SettingsError) as refused:
        settings.load({"KB_WORKERS": "beaucoup"}, instance_dir=_instance(tmp_path))
    message = str(refused.value)
    assert "KB_WORKERS" in message and "WORKERS = 'beaucoup'" in message and "nombre entier" in message


def test_a_wrong_value_in_kb_toml_names_the_file_and_the_setting(tmp_path):
    instance = _instance(tmp_path, 'SECURE_COOKIES = "peut-être"\n')
    with pytest.raises(SettingsError) as refused:
        settings.load({}, instance_dir=instance)
    message = str(refused.value)
    assert str(instance / "kb.toml") in message and "SECURE_COOKIES = 'peut-être'" in message and "true ou false" in message


def test_an_unknown_key_in_kb_toml_is_refused_with_the_setting_it_resembles(tmp_path):
    instance = _instance(tmp_path, "SECURE_COOKIE = true\n")
    with pytest.raises(SettingsError) as refused:
        settings.load({}, instance_dir=instance)
    message = str(refused.value)
    assert str(instance / "kb.toml") in message
    assert "réglage inconnu « SECURE_COOKIE »" in message and "vouliez-vous dire SECURE_COOKIES ?" in message


def test_a_kb_toml_that_is_not_toml_is_refused_naming_the_file(tmp_path):
    instance = _instance(tmp_path, "SITE_NAME = Le Courrier\n")
    with pytest.raises(SettingsError, match="TOML invalide") as refused:
        settings.load({}, instance_dir=instance)
    assert str(instance / "kb.toml") in str(refused.value)


def test_a_kb_toml_not_in_utf8_is_refused_naming_the_file(tmp_path):
    instance = _instance(tmp_path, 'SITE_NAME = "Le Républicain lorrain"\n'.encode("latin-1"))
    with pytest.raises(SettingsError, match="UTF-8") as refused:
        settings.load({}, instance_dir=instance)
    assert str(instance / "kb.toml") in str(refused.value)


def test_a_command_stops_on_a_wrong_setting_with_the_message_not_a_traceback(runner, monkeypatch):
    monkeypatch.setenv("KB_WORKERS", "beaucoup")
    result = runner.invoke(main, ["db", "status"])
    assert result.exit_code == 1
    assert "KB_WORKERS" in result.output and "Traceback" not in result.output


# -- production ---------------------------------------------------------------------------------


def _production_app(content_dir: Path, tmp_path: Path):
    return create_app({"PRODUCTION": True, "CONTENT_DIR": str(content_dir), "INSTANCE_DIR": str(tmp_path / "instance")})


def _documented_example_secret() -> str:
    """The SECRET_KEY of the example kb.toml in docs/settings.md: a placeholder people copy."""
    block = re.search(r"```toml\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.S).group(1)
    return tomllib.loads(block)["SECRET_KEY"]


def test_production_refuses_the_generated_development_key(content_dir, tmp_path, monkeypatch):
    monkeypatch.delenv("KB_SECRET_KEY", raising=False)
    with pytest.raises(SettingsError, match="KB_SECRET_KEY n'est pas réglé"):
        _production_app(content_dir, tmp_path)


@pytest.mark.parametrize(
    "weak",
    [
        pytest.param("7f3a9c1e-court", id="short"),
        pytest.param("remplacez-moi", id="placeholder"),
        pytest.param("a" * 64, id="one-character-repeated"),
    ],
)
def test_production_refuses_a_weak_secret_key(content_dir, tmp_path, monkeypatch, weak):
    monkeypatch.setenv("KB_SECRET_KEY", weak)
    with pytest.raises(SettingsError, match="KB_SECRET_KEY est trop faible"):
        _production_app(content_dir, tmp_path)


def test_production_refuses_the_secret_key_of_the_documentation_example(content_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("KB_SECRET_KEY", _documented_example_secret())
    with pytest.raises(SettingsError, match="l'exemple de la documentation"):
        _production_app(content_dir, tmp_path)


def test_the_processes_are_one_per_processor_two_at_least(tmp_path, monkeypatch):
    for processors, workers in ((1, 2), (2, 2), (8, 8)):
        monkeypatch.setattr(os, "cpu_count", lambda: processors)
        assert settings.finish(settings.load({}, instance_dir=_instance(tmp_path)))["WORKERS"] == workers


@pytest.mark.parametrize("name", ["WORKERS", "THREADS", "TIMEOUT"])
def test_a_server_size_of_zero_is_refused(name):
    with pytest.raises(SettingsError, match=f"KB_{name} : {name} = '0' : attendu un nombre entier d'au moins 1"):
        settings.load({f"KB_{name}": "0"})


def test_production_starts_with_a_strong_secret_key_and_writes_no_development_key(content_dir, tmp_path, monkeypatch, database_url):
    open_database(database_url)  # production upgrades nothing: the database is ready beforehand
    key = secrets.token_hex(32)
    monkeypatch.setenv("KB_SECRET_KEY", key)
    app = _production_app(content_dir, tmp_path)
    assert (app.config["SECRET_KEY"], app.config["SECRET_KEY_GENERATED"]) == (key, False)
    assert not (tmp_path / "instance" / "secret_key").exists()


# -- PROXY_HOPS and the client address the login throttle counts --------------------------------


def _app(content_dir: Path, tmp_path: Path, **config):
    return create_app(
        {"TESTING": True, "CONTENT_DIR": str(content_dir), "INSTANCE_DIR": str(tmp_path / "instance"), "CONTENT_RECHECK_SECONDS": 0}
        | config
    )


def _fail_login(client, number: int, forwarded_for: str) -> int:
    """A wrong password for an account of its own (the per-account limit stays out of the way)."""
    if not hasattr(client, "token"):
        client.token = csrf_token(client)
    data = {"csrf_token": client.token, "email": f"inconnu{number}@redaction.fr", "password": "pas-le-bon-mot-de-passe"}
    return client.post("/redaction/connexion", data=data, headers={"X-Forwarded-For": forwarded_for}).status_code


def _counted_clients(app) -> set[str]:
    with app.extensions["kb.db"]() as session:
        keys = session.scalars(select(LoginFailure.key)).all()
    return {key.removeprefix("client:") for key in keys if key.startswith("client:")}


def test_behind_one_proxy_the_throttle_counts_the_forwarded_client_address(content_dir, tmp_path):
    app = _app(content_dir, tmp_path, PROXY_HOPS=1)
    assert _fail_login(app.test_client(), 1, "203.0.113.7") == 401
    assert _counted_clients(app) == {"203.0.113.7"}


def test_without_proxies_a_forged_forwarded_for_header_is_ignored(content_dir, tmp_path):
    app = _app(content_dir, tmp_path)
    assert app.config["PROXY_HOPS"] == 0
    assert _fail_login(app.test_client(), 1, "203.0.113.7") == 401
    assert _counted_clients(app) == {"127.0.0.1"}


def test_without_proxies_forging_a_new_address_each_time_does_not_escape_the_throttle(content_dir, tmp_path):
    app = _app(content_dir, tmp_path)
    client = app.test_client()
    assert {_fail_login(client, number, f"198.51.100.{number}") for number in range(LIMITS["client"])} == {401}
    assert _fail_login(client, 999, "192.0.2.1") == 429


def test_behind_one_proxy_a_throttled_client_does_not_block_the_others(content_dir, tmp_path):
    app = _app(content_dir, tmp_path, PROXY_HOPS=1)
    client = app.test_client()
    assert {_fail_login(client, number, "203.0.113.7") for number in range(LIMITS["client"])} == {401}
    assert _fail_login(client, 998, "203.0.113.7") == 429
    assert _fail_login(client, 999, "198.51.100.9") == 401
