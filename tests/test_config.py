"""Settings sources and their priority, and clear errors for bad configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from pgkeel.config import load_settings
from pgkeel.dsn import parse_dsn, redact
from pgkeel.errors import ConfigError


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "PGKEEL_DATABASE_URL", "PGKEEL_LOCK_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)


def _url(name: str) -> str:
    return f"postgresql://u@h/{name}"


def test_priority_flag_env_dotenv_srcenv_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                              ) -> None:
    (tmp_path / "pgkeel.toml").write_text(f'database_url = "{_url("toml")}"\n')
    assert load_settings(tmp_path).database_url == _url("toml")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / ".env").write_text(f"DATABASE_URL={_url('srcenv')}\nSUPABASE_KEY=x\n")
    assert load_settings(tmp_path).database_url == _url("srcenv")
    (tmp_path / ".env").write_text(f"DATABASE_URL={_url('dotenv')}\n")
    assert load_settings(tmp_path).database_url == _url("dotenv")
    monkeypatch.setenv("DATABASE_URL", _url("env"))
    assert load_settings(tmp_path).database_url == _url("env")
    assert load_settings(tmp_path, database_url=_url("flag")).database_url == _url("flag")


def test_pyproject_tool_table(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.pgkeel]\nlock_timeout = 2.5\nmigrations_dir = "db"\n'
    )
    settings = load_settings(tmp_path)
    assert settings.lock_timeout == 2.5
    assert settings.resolve(settings.migrations_dir) == tmp_path.resolve() / "db"
    assert settings.database_url is None


def test_unknown_key_names_file_line_and_known_keys(tmp_path: Path) -> None:
    (tmp_path / "pgkeel.toml").write_text('lock_timeout = 3\n\ndatabse_url = "x"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path)
    assert str(caught.value) == f"{tmp_path.resolve() / 'pgkeel.toml'}:3: unknown key 'databse_url'"
    assert "database_url" in (caught.value.hint or "")
    assert caught.value.exit_code == 2


def test_wrong_type(tmp_path: Path) -> None:
    (tmp_path / "pgkeel.toml").write_text('lock_timeout = "soon"\n')
    with pytest.raises(ConfigError, match=r"pgkeel.toml:1: lock_timeout"):
        load_settings(tmp_path)


def test_bad_toml_syntax(tmp_path: Path) -> None:
    (tmp_path / "pgkeel.toml").write_text("lock_timeout = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(tmp_path)


def test_dsn_that_does_not_parse_never_echoes_it(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "host=db password=hunter2 sslmode")
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path)
    assert "hunter2" not in str(caught.value) + str(caught.value.hint)
    assert "postgresql://user:password@localhost:5432/dbname" in (caught.value.hint or "")


@pytest.mark.parametrize(
    ("dsn", "shown"),
    [
        ("postgresql://app:s3cret@db:5432/app", "postgresql://app:****@db:5432/app"),
        ("postgres://app@db/app?password=s3cret&sslmode=require",
         "postgres://app@db/app?password=****&sslmode=require"),
        ("postgresql://app:p@ss@db/app", "postgresql://app:****@db/app"),
        ("host=db user=app password=s3cret", "host=db user=app password=****"),
        ("postgresql:///app?host=/run/pg", "postgresql:///app?host=/run/pg"),
        ("host=db password", "<unparseable DSN>"),
    ],
)
def test_redact(dsn: str, shown: str) -> None:
    assert redact(dsn) == shown


def test_parse_dsn() -> None:
    assert parse_dsn("postgresql://app@db:6432/x")["port"] == "6432"


def test_empty_database_url_is_an_error_not_the_local_cluster(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pgkeel.toml").write_text(f'database_url = "{_url("toml")}"\n')
    monkeypatch.setenv("DATABASE_URL", "")
    with pytest.raises(ConfigError, match="set but empty"):
        load_settings(tmp_path)


def test_project_root_found_from_a_subdirectory(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pgkeel.toml").write_text(f'database_url = "{_url("toml")}"\n')
    (tmp_path / "src" / "app").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "src" / "app")
    settings = load_settings()
    assert settings.root == tmp_path.resolve()
    assert settings.database_url == _url("toml")


def test_env_value_of_wrong_type_names_the_variable(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGKEEL_LOCK_TIMEOUT", "abc")
    with pytest.raises(ConfigError, match="PGKEEL_LOCK_TIMEOUT") as caught:
        load_settings(tmp_path)
    assert "seconds" in (caught.value.hint or "")


def test_table_where_a_value_belongs_names_its_line(tmp_path: Path) -> None:
    (tmp_path / "pgkeel.toml").write_text("lock_wait = 3\n[database]\nurl = 'x'\n")
    with pytest.raises(ConfigError, match=r"pgkeel.toml:2: unknown key 'database'"):
        load_settings(tmp_path)


def test_port_that_is_not_a_number() -> None:
    with pytest.raises(ConfigError, match="port 'notaport' is not a number"):
        parse_dsn("postgresql://app@db:notaport/app")
