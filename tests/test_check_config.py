"""The [check] table: rule ids, options and types checked against the registry, with
file and line in every error; what it selects reaches `pgkeel check`."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pytest

from pgkeel.config import load_settings
from pgkeel.errors import ConfigError
from pgkeel.lint.config import check_config
from pgkeel.lint.options import RuleOption
from pgkeel.lint.rules.row_timestamps import MissingTimestamps
from pgkeel.report.findings import Severity


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "PGKEEL_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def options(monkeypatch: pytest.MonkeyPatch) -> None:
    """Options declared on a real rule, as a rule helper declares them."""
    monkeypatch.setattr(MissingTimestamps, "options", {
        "columns": RuleOption(list[str], "column names that stamp changes", []),
        "mode": RuleOption(Literal["required", "auto"], "how strict", "auto"),
    })


def _load(tmp_path: Path, text: str, name: str = "pgkeel.toml") -> object:
    (tmp_path / name).write_text(text)
    return check_config(load_settings(tmp_path))


def _error(tmp_path: Path, text: str, name: str = "pgkeel.toml") -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, text, name)
    assert caught.value.exit_code == 2
    return caught.value


def test_a_full_check_table(tmp_path: Path, options: None) -> None:
    config = _load(tmp_path, """
[check]
disable = ["float-for-money"]
ignore = ["public.legacy_*"]
sample_rows = 500
statement_timeout_ms = 800

[check.severity]
missing-timestamps = "info"

[check.options.missing-timestamps]
columns = ["last_update"]
mode = "required"
""")
    assert config.disable == {"float-for-money"}
    assert config.ignore == ("public.legacy_*",)
    assert (config.sample_rows, config.statement_timeout_ms) == (500, 800)
    assert config.severity == {"missing-timestamps": Severity.INFO}
    assert config.option("missing-timestamps", "columns", []) == ["last_update"]
    assert config.option("missing-timestamps", "mode", "auto") == "required"
    assert config.option("float-for-money", "x", 7) == 7


def test_pyproject_tool_table(tmp_path: Path) -> None:
    config = _load(tmp_path, '[project]\nname = "x"\n\n[tool.pgkeel.check]\n'
                   'disable = ["missing-timestamps"]\n', "pyproject.toml")
    assert config.disable == {"missing-timestamps"}


def test_no_check_table_means_defaults(tmp_path: Path) -> None:
    config = _load(tmp_path, 'lock_timeout = 3\n')
    assert not config.enable and not config.disable and config.sample_rows == 10_000


def test_unknown_rule_id_names_file_line_and_close_match(tmp_path: Path) -> None:
    error = _error(tmp_path, '[check]\nignore = []\ndisable = ["float-for-mony"]\n')
    assert str(error) == (f"{tmp_path.resolve() / 'pgkeel.toml'}:3: unknown rule id "
                          "'float-for-mony' in check.disable")
    assert "did you mean float-for-money?" in (error.hint or "")


def test_unknown_rule_in_severity_and_pyproject_line(tmp_path: Path) -> None:
    error = _error(tmp_path, '[project]\nname = "x"\n[tool.pgkeel.check.severity]\n'
                   'unindexed-foreign-keys = "info"\n', "pyproject.toml")
    assert ":4: unknown rule id 'unindexed-foreign-keys'" in str(error)


def test_unknown_key_and_wrong_types(tmp_path: Path, options: None) -> None:
    error = _error(tmp_path, "[check]\nsample_row = 10\n")
    assert str(error).endswith(":2: unknown key 'check.sample_row'")
    assert "sample_rows" in (error.hint or "")
    error = _error(tmp_path, "[check]\nsample_rows = 0\n")
    assert ":2: check.sample_rows" in str(error)
    error = _error(tmp_path, '[check.severity]\nmissing-timestamps = "fatal"\n')
    assert ":2: check.severity.missing-timestamps" in str(error)
    error = _error(tmp_path, "[check.options.missing-timestamps]\n\ncolumn = ['x']\n")
    assert str(error).endswith(":3: rule 'missing-timestamps' has no option 'column'")
    assert "did you mean columns?" in (error.hint or "")
    error = _error(tmp_path, '[check.options.missing-timestamps]\ncolumns = "last_update"\n')
    assert ":2: check.options.missing-timestamps.columns:" in str(error)
    assert "column names that stamp changes" in (error.hint or "")
    error = _error(tmp_path, '[check.options.missing-timestamps]\nmode = "always"\n')
    assert ":2: check.options.missing-timestamps.mode" in str(error)
    error = _error(tmp_path, '[check.options.float-for-money]\nanything = 1\n')
    assert "its options: none" in (error.hint or "")


def test_enabled_and_disabled_at_once(tmp_path: Path) -> None:
    error = _error(tmp_path, '[check]\nenable = ["missing-timestamps"]\n'
                   'disable = ["missing-timestamps"]\n')
    assert ":3: rule 'missing-timestamps' is both enabled and disabled" in str(error)
