"""Settings: where the database is, where the local cluster lives, migration options.

Sources, highest priority first (the order the foundation issue fixes):

1. keyword arguments (the CLI's ``--database-url`` and friends);
2. environment variables: ``DATABASE_URL``, and ``PGKEEL_<FIELD>`` for every field;
3. ``.env`` in the project root, then ``src/.env`` (where the skill keeps credentials);
4. ``pgkeel.toml`` in the project root, or else ``[tool.pgkeel]`` in ``pyproject.toml``.

Unknown keys in ``.env`` files are ignored (they hold other tools' secrets too); an
unknown key or a wrong type in ``pgkeel.toml`` is a ``ConfigError`` naming the file,
line and key, because a misspelt option silently ignored is a bug waiting to happen.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from pgkeel.dsn import parse_dsn
from pgkeel.errors import ConfigError

__all__ = ["BackupSettings", "CheckSettings", "LintTable", "Settings", "line_of",
           "load_settings", "project_root"]


class CheckSettings(BaseModel):
    """The ``[check]`` table (``[tool.pgkeel.check]`` in ``pyproject.toml``), as written.

    Only the shapes are checked here; :func:`pgkeel.lint.config.check_config` checks
    the rule ids and per-rule option names and types against the rule registry.
    """

    model_config = ConfigDict(extra="forbid")

    enable: list[str] = Field(default_factory=list,
                              description="opt-in rule ids to run")
    disable: list[str] = Field(default_factory=list, description="rule ids not to run")
    severity: dict[str, Literal["error", "warning", "info"]] = Field(
        default_factory=dict, description="severity per rule id (error, warning, info)")
    options: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="per-rule options, [check.options.RULE-ID]")
    ignore: list[str] = Field(
        default_factory=list,
        description="fnmatch patterns over finding objects never reported")
    sample_rows: int = Field(default=10_000, gt=0,
                             description="most rows a data rule reads per table")
    statement_timeout_ms: int = Field(default=5_000, gt=0,
                                      description="time limit of each data query, in ms")


class LintTable(BaseModel):
    """The ``[lint]`` table (``[tool.pgkeel.lint]``): what ``pgkeel lint`` runs, as written.

    Only the shapes are checked here; :func:`pgkeel.lint.migration.config.lint_config`
    checks rule ids and options against the migration rules.
    """

    model_config = ConfigDict(extra="forbid")

    enable: list[str] = Field(default_factory=list, description="opt-in rule ids to run")
    disable: list[str] = Field(default_factory=list, description="rule ids not to run")
    options: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="per-rule options, [lint.options.RULE-ID]")
    assume_in_transaction: bool = Field(
        default=False, description="lint plain .sql files as if run in one transaction")
    target_version: int | None = Field(
        default=None, gt=0,
        description="target server version: a major (15) or server_version_num (150004)")
    runner_lock_timeout_ms: int | None = Field(
        default=None, ge=0,
        description="lock_timeout the runner sets, in ms (default: the lock_timeout "
        "setting; 0: none)")
    runner_statement_timeout_ms: int | None = Field(
        default=None, ge=0, description="statement_timeout the runner sets, in ms (0: none)")
    large_table_bytes: int = Field(default=1 << 30, gt=0,
                                   description="size from which a lock finding is an error")
    small_table_rows: int = Field(default=1000, ge=0,
                                  description="rows up to which a lock finding is info")


class BackupSettings(BaseModel):
    """The ``[backup]`` table (``[tool.pgkeel.backup]`` in ``pyproject.toml``)."""

    model_config = ConfigDict(extra="forbid")

    directory: Path = Field(default=Path("backups"),
                            description="where backups are written, relative to the project")
    max_age_hours: float = Field(
        default=26.0, gt=0,
        description="age in hours past which the newest backup no longer counts for "
        "check (a day plus slack for a daily job)")


class SeedSettings(BaseModel):
    """The ``[seed]`` table (``[tool.pgkeel.seed]`` in ``pyproject.toml``)."""

    model_config = ConfigDict(extra="forbid")

    directory: Path = Field(default=Path("seeds"),
                            description="seed files, relative to the project")
    production: bool = Field(
        default=False,
        description="true marks the configured database as production: `seed run "
        "--reset` refuses it without --force")
    columns: dict[str, str] = Field(
        default_factory=dict,
        description="generated values per column: \"table.column\" (or \"schema.table."
        "column\") = a Faker provider name, e.g. \"users.nickname\" = \"user_name\"")


#: The tables of pgkeel.toml, by name, for error messages about their keys.
_TABLES: dict[str, type[BaseModel]] = {"check": CheckSettings, "lint": LintTable,
                                       "backup": BackupSettings, "seed": SeedSettings}


class _Options(BaseModel):
    """The configurable fields, shared by the file model and the settings class."""

    # Validators are built on first use, not at import: a command validates only
    # load_settings' subclass of Settings, and _FileOptions only when a file exists
    # (each build costs milliseconds of every command's start-up).
    model_config = ConfigDict(defer_build=True)

    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("database_url", "DATABASE_URL", "PGKEEL_DATABASE_URL"),
        description="libpq URI or key=value string of the database to work on",
    )
    postgres_bin: Path | None = Field(
        default=None, description="directory holding the PostgreSQL server binaries"
    )
    cluster_dir: Path = Field(
        default=Path(".pgkeel"), description="local cluster directory, relative to the project"
    )
    migrations_dir: Path = Field(default=Path("migrations"), description="migration files")
    lock_timeout: float = Field(
        default=5.0, gt=0, description="seconds a DDL statement waits for a table lock"
    )
    lock_wait: float = Field(
        default=60.0, ge=0, description="seconds a runner waits for pgkeel's advisory lock"
    )
    check: CheckSettings = Field(default_factory=CheckSettings,
                                 description="[check] table: what `pgkeel check` runs")
    lint: LintTable = Field(default_factory=LintTable,
                            description="[lint] table: what `pgkeel lint` runs")
    backup: BackupSettings = Field(default_factory=BackupSettings,
                                   description="[backup] table: where backups go")
    seed: SeedSettings = Field(default_factory=SeedSettings,
                               description="[seed] table: seed files and generated values")

    @field_validator("database_url")
    @classmethod
    def _dsn_parses(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.strip():
            # A CI secret that is missing expands to "": auditing the empty local
            # cluster instead would pass silently.
            raise ConfigError(
                "the database URL is set but empty",
                hint="give the URL, or unset DATABASE_URL (and remove empty database_url "
                "entries from .env, src/.env, pgkeel.toml) to use the local cluster",
            )
        parse_dsn(value)  # raises ConfigError without echoing the password
        return value


class _FileOptions(_Options):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Settings(_Options, BaseSettings):
    """Resolved settings. Build with :func:`load_settings`, not directly.

    Fields: ``database_url`` (str or None: None means the local cluster),
    ``postgres_bin`` (Path or None), ``cluster_dir`` (Path, resolved against ``root``),
    ``migrations_dir`` (Path), ``lock_timeout`` (seconds), ``lock_wait`` (seconds),
    ``check`` (the ``[check]`` table, :class:`CheckSettings`), ``lint`` (the ``[lint]``
    table, :class:`LintTable`), ``backup`` (the ``[backup]`` table,
    :class:`BackupSettings`), ``seed`` (the ``[seed]`` table, :class:`SeedSettings`),
    ``root`` (the project
    directory), ``config_file`` (the ``pgkeel.toml``/``pyproject.toml`` read, or None).
    """

    model_config = SettingsConfigDict(
        env_prefix="PGKEEL_", extra="ignore", populate_by_name=True, case_sensitive=False
    )

    root: Path = Field(default_factory=Path.cwd, exclude=True)
    config_file: Path | None = Field(default=None, exclude=True)

    def resolve(self, path: Path) -> Path:
        """Return ``path`` made absolute against the project root."""
        return path if path.is_absolute() else self.root / path


def _config_file(root: Path) -> tuple[Path, dict[str, Any]] | None:
    """Read ``pgkeel.toml`` or ``[tool.pgkeel]`` of ``pyproject.toml`` under ``root``."""
    for name, table in (("pgkeel.toml", ()), ("pyproject.toml", ("tool", "pgkeel"))):
        path = root / name
        if not path.is_file():
            continue
        try:
            data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(
                f"not valid TOML: {exc}", path=path, hint="fix the syntax"
            ) from None
        for key in table:
            data = data.get(key, {})
        if name == "pyproject.toml" and not data:
            continue
        return path, data
    return None


_HEADER = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(?:#.*)?$")
_KEY = re.compile(r'^\s*("(?:[^"\\]|\\.)*"|[A-Za-z0-9_.\- "]+?)\s*=')


def _dotted(text: str) -> tuple[str, ...]:
    return tuple(part.strip().strip('"') for part in re.split(r'\.(?=(?:[^"]*"[^"]*")*[^"]*$)',
                                                               text))


def line_of(path: Path, loc: tuple[str | int, ...]) -> int | None:
    """Return the 1-based line of ``pgkeel.toml`` that sets ``loc``, if findable.

    ``loc`` is a key path below pgkeel's table (``("check", "options",
    "missing-timestamps", "columns")``); the ``[tool.pgkeel]`` prefix of
    ``pyproject.toml`` is accounted for. The line of the longest prefix of ``loc``
    that is set (a ``[table]`` header or a ``key =``) wins; None when none is.
    """
    keys = tuple(str(k) for k in loc if not isinstance(k, int))
    prefix = ("tool", "pgkeel") if path.name == "pyproject.toml" else ()
    table: tuple[str, ...] | None = ()
    best: tuple[int, int] | None = None
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        header = _HEADER.match(text)
        if header:
            name = _dotted(header.group(1))
            table = name[len(prefix):] if name[:len(prefix)] == prefix else None
            if table is not None and table and keys[:len(table)] == table:
                best = max(best or (0, 0), (len(table), number))
            continue
        key = _KEY.match(text)
        if key is None or table is None:
            continue
        full = table + _dotted(key.group(1))
        depth = len(full) if keys[:len(full)] == full else 0
        if depth:
            best = max(best or (0, 0), (depth, number))
    return best[1] if best else None


def _validate_file(path: Path, data: dict[str, Any]) -> dict[str, Any]:
    try:
        _FileOptions.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = tuple(first["loc"]) or ("?",)
        key = ".".join(str(k) for k in loc)
        if first["type"] == "extra_forbidden":
            model = _TABLES.get(str(loc[0]), _Options) if len(loc) > 1 else _Options
            known = ", ".join(sorted(model.model_fields))
            message, hint = f"unknown key {key!r}", f"known keys: {known}"
        else:
            message, hint = f"{key}: {first['msg']}", _expected(loc)
        raise ConfigError(message, path=path, line=line_of(path, loc), hint=hint) from None
    except ConfigError as exc:
        raise ConfigError(exc.message, path=path, line=line_of(path, ("database_url",)),
                          hint=exc.hint) from None
    return data


def _expected(loc: tuple[str | int, ...]) -> str:
    """What a setting holds, for the hint of a wrong value."""
    model: type[BaseModel] = _Options
    if len(loc) > 1 and str(loc[0]) in _TABLES:
        model, loc = _TABLES[str(loc[0])], loc[1:]
    field = model.model_fields.get(str(loc[0]))
    if field is None:
        return "fix the value"
    return f"{loc[0]} is the {field.description}"


def project_root(start: Path | None = None) -> Path:
    """Return the project directory for ``start`` (default: the current directory).

    The nearest directory, ``start`` or above, holding ``pgkeel.toml``,
    ``pyproject.toml``, ``.pgkeel`` or ``.git``; ``start`` itself when none does. So a
    command run from ``src/`` uses the project's settings and local cluster.
    """
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        if any((directory / marker).exists()
               for marker in ("pgkeel.toml", "pyproject.toml", ".pgkeel", ".git")):
            return directory
    return here


def load_settings(root: Path | None = None, **overrides: Any) -> Settings:
    """Resolve settings for the project at ``root`` (default: :func:`project_root`).

    ``overrides`` are the highest-priority values (CLI flags); ``None`` values are
    dropped so an absent flag does not mask the environment.

    Raises ``ConfigError`` for an unknown key or wrong type in ``pgkeel.toml``, or a
    DSN that does not parse, from any source.
    """
    root = root.resolve() if root is not None else project_root()
    found = _config_file(root)
    file_values = _validate_file(*found) if found else {}
    init = {k: v for k, v in overrides.items() if v is not None}

    class _Resolved(Settings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return (
                init_settings,
                env_settings,
                dotenv_settings,
                InitSettingsSource(settings_cls, init_kwargs=file_values),
            )

    # pydantic-settings gives later env files priority: .env beats src/.env.
    env_files = (root / "src" / ".env", root / ".env")
    try:
        return _Resolved(_env_file=env_files, root=root,  # type: ignore[call-arg]
                         config_file=found[0] if found else None, **init)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = tuple(first["loc"]) or ("?",)
        key = str(loc[0])
        where = f"PGKEEL_{key.upper()} or {key} in .env/pgkeel.toml"
        raise ConfigError(f"{key} ({where}): {first['msg']}", hint=_expected(loc)) from None
