"""Migration rules, catalogue section E (functions, search_path, extensions): DDL that
lets another role hijack name resolution or run code with the owner's rights.

The row-level-security half of the section is in :mod:`.rls`. Where the schema
linter already has the rule id, the migration rule's id ends in ``-ddl``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from pglast import ast, enums, parse_plpgsql, parse_sql
from pglast.parser import ParseError

from pgkeel.lint.migration.context import MigrationContext
from pgkeel.lint.migration.rules._ddl import (
    func_option,
    function_name,
    language_of,
    schema_names,
    search_path_of,
    walk,
)
from pgkeel.lint.migration.source import Statement
from pgkeel.lint.options import RuleOption
from pgkeel.lint.rules.base import MigrationRule
from pgkeel.report.findings import Finding, Severity

OT = enums.ObjectType


def is_security_definer(node: ast.CreateFunctionStmt) -> bool:
    """True for ``SECURITY DEFINER`` (the last SECURITY clause wins)."""
    value = func_option(node, "security")
    return isinstance(value, ast.Boolean) and bool(value.boolval)


def writable_schemas(ctx: MigrationContext) -> tuple[set[str], str]:
    """Schemas roles other than the owner may CREATE in, and words saying how that was
    decided: from the live catalog's schema ACLs, plus ``GRANT CREATE ON SCHEMA``
    earlier in the file; offline, ``public`` unless the target is PostgreSQL 15 or
    later (15 stopped granting CREATE on public to PUBLIC: release notes 15, E.16.2)."""
    granted = {s.sval or "" for stmt in ctx.earlier if isinstance(stmt.node, ast.GrantStmt)
               and stmt.node.is_grant and stmt.node.objtype == OT.OBJECT_SCHEMA
               and any(p.priv_name == "create" for p in stmt.node.privileges or ())
               for s in stmt.node.objects or () if isinstance(s, ast.String)}
    if ctx.catalog is not None:
        found = {s.name for s in ctx.catalog.snapshot.schemas for g in s.grants
                 if "CREATE" in g.privileges and g.grantee != s.owner}
        return found | granted, "the database's schema privileges"
    version = ctx.target_version
    if version is not None and version >= 150000:
        return granted, f"PostgreSQL {version}"
    why = "the target version is unknown, so" if version is None else f"on {version}"
    return granted | {"public"}, f"{why} every role may create in public (before 15)"


class SecurityDefinerSearchPath(MigrationRule):
    """A SECURITY DEFINER function without a safe SET search_path.

    Why
    ---
    The body runs with the owner's rights but resolves unqualified names through the
    caller's search_path: a caller who can create objects in any schema on it (or in
    ``pg_temp``, searched first unless listed last) plants a function or table the
    privileged body then uses ("CREATE FUNCTION", Writing SECURITY DEFINER Functions
    Safely).

    Bad
    ---
    ```sql
    CREATE FUNCTION app.f() RETURNS int LANGUAGE sql SECURITY DEFINER AS $$ SELECT 1 $$;
    ```

    Good
    ----
    ```sql
    CREATE FUNCTION app.f() RETURNS int LANGUAGE sql SECURITY DEFINER
      SET search_path = pg_catalog, pg_temp AS $$ SELECT 1 $$;
    ```

    Notes
    -----
    A path naming a schema other roles may create in is flagged too: with a database
    from its ACL, offline ``public`` unless the target is PostgreSQL 15 or later.

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-createfunction.html#SQL-CREATEFUNCTION-SECURITY
    - pgspot: PS003, PS004; splinter: 0011 function_search_path_mutable
    """

    id = "security-definer-search-path"
    severity = Severity.ERROR
    object_kind = "function"
    docs_url = "https://www.postgresql.org/docs/current/sql-createfunction.html#SQL-CREATEFUNCTION-SECURITY"
    upstream = ("splinter:function_search_path_mutable",)
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.CreateFunctionStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.CreateFunctionStmt)
        if not is_security_definer(node):
            return
        name = function_name(node, ctx)
        path = search_path_of(node)
        fix = "SET search_path = pg_catalog, pg_temp (or '') and qualify every name"
        if path is None:
            yield self.at(statement, ctx, f"SECURITY DEFINER function {name} has no SET "
                          "search_path: callers can plant objects its body resolves",
                          object=name, fix=fix)
        elif "pg_temp" in path and path[-1] != "pg_temp":
            yield self.at(statement, ctx, f"SECURITY DEFINER function {name} puts pg_temp before "
                          "the end of its search_path: any caller can shadow names there",
                          object=name, fix=fix)
        else:
            writable, why = writable_schemas(ctx)
            bad = [s for s in path if s in writable]
            if bad:
                yield self.at(statement, ctx, f"SECURITY DEFINER function {name} searches "
                              f"{', '.join(bad)}, where other roles may create objects ({why})",
                              object=name, fix=fix)


class FunctionSearchPathMutableDdl(MigrationRule):
    """A function without a fixed search_path behaves per caller.

    Why
    ---
    Unqualified names in the body resolve through whatever search_path the calling
    session has, so the same function can read different tables or call different
    functions (splinter 0011; "CREATE FUNCTION", SET). Any fixed value passes.

    Bad
    ---
    ```sql
    CREATE FUNCTION app.g() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;
    ```

    Good
    ----
    ```sql
    CREATE FUNCTION app.g() RETURNS int LANGUAGE sql SET search_path = '' AS $$ SELECT 1 $$;
    ```

    Notes
    -----
    SECURITY DEFINER functions are left to ``security-definer-search-path`` (an
    error); C and internal functions are exempt. The schema linter's
    ``function-search-path-mutable`` judges existing functions.

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-createfunction.html
    - splinter: 0011 function_search_path_mutable; pgspot: PS005
    """

    id = "function-search-path-mutable-ddl"
    severity = Severity.WARNING
    object_kind = "function"
    docs_url = "https://www.postgresql.org/docs/current/sql-createfunction.html"
    upstream = ("splinter:function_search_path_mutable",)
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.CreateFunctionStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.CreateFunctionStmt)
        if is_security_definer(node) or language_of(node) in ("c", "internal") \
                or search_path_of(node) is not None:
            return
        name = function_name(node, ctx)
        yield self.at(statement, ctx, f"function {name} has no fixed search_path: its names "
                      "resolve through each caller's path", object=name,
                      fix="SET search_path = '' (or pg_catalog, pg_temp) and qualify names")


class ExtensionInPublicDdl(MigrationRule):
    """CREATE EXTENSION without SCHEMA lands in public (the first search_path schema).

    Why
    ---
    Extension objects in ``public`` join the API surface of tools that expose it and
    can be shadowed by objects others create there (splinter 0014).

    Bad
    ---
    ```sql
    CREATE EXTENSION pg_trgm;
    ```

    Good
    ----
    ```sql
    CREATE EXTENSION pg_trgm SCHEMA extensions;
    ```

    Notes
    -----
    ``plpgsql`` is exempt. A ``SET search_path`` earlier in the file whose first schema
    is not public counts as a schema. The schema linter's ``extension-in-public``
    judges installed extensions.

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-createextension.html
    - splinter: 0014 extension_in_public
    """

    id = "extension-in-public-ddl"
    severity = Severity.WARNING
    object_kind = "extension"
    docs_url = "https://www.postgresql.org/docs/current/sql-createextension.html"
    upstream = ("splinter:extension_in_public",)
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.CreateExtensionStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.CreateExtensionStmt)
        if node.extname == "plpgsql":
            return
        schema = next((o.arg.sval for o in node.options or ()
                       if o.defname == "schema" and isinstance(o.arg, ast.String)), None)
        schema = schema or (ctx.search_path[0] if ctx.search_path else "public")
        if schema == "public":
            yield self.at(statement, ctx, f"extension {node.extname} is installed in public",
                          object=node.extname,
                          fix=f"CREATE EXTENSION {node.extname} SCHEMA extensions")


class ProceduralLanguageAllowlist(MigrationRule):
    """A function in a language outside the allow-list.

    Why
    ---
    Untrusted languages (``plpython3u``, ``plperlu``) run code as the server's
    operating-system user ("Procedural Languages"). Option ``languages`` (default
    ``sql``, ``plpgsql``).

    Bad
    ---
    ```sql
    CREATE FUNCTION app.py1() RETURNS int LANGUAGE plpython3u AS $$ return 1 $$;
    ```

    Good
    ----
    ```sql
    CREATE FUNCTION app.py1() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;
    ```

    References
    ----------
    - https://www.postgresql.org/docs/current/xplang.html
    - pgrubic: ST002
    """

    id = "procedural-language-allowlist"
    severity = Severity.WARNING
    opt_in = True
    object_kind = "function"
    docs_url = "https://www.postgresql.org/docs/current/xplang.html"
    options: ClassVar = {"languages": RuleOption(list[str], "languages functions may use",
                                                 ["sql", "plpgsql"])}
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.CreateFunctionStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.CreateFunctionStmt)
        allowed = {x.lower() for x in ctx.option(self.id, "languages", ["sql", "plpgsql"])}
        language = language_of(node)
        if language not in allowed:
            name = function_name(node, ctx)
            yield self.at(statement, ctx, f"function {name} is written in {language}, which is "
                          "not on the allow-list", object=name,
                          fix=f"use one of {', '.join(sorted(allowed))}")


def _replaced(node: ast.Node, ctx: MigrationContext) -> tuple[str, str] | None:
    """``(kind, schema.name)`` for CREATE OR REPLACE / IF NOT EXISTS, else None."""
    if isinstance(node, ast.CreateFunctionStmt) and node.replace:
        return "function", function_name(node, ctx)
    if isinstance(node, ast.ViewStmt) and node.replace:
        return "view", ctx.qualify(node.view)
    if isinstance(node, ast.CreateStmt) and node.if_not_exists:
        return "table", ctx.qualify(node.relation)
    if isinstance(node, ast.CreateSeqStmt) and node.if_not_exists:
        return "sequence", ctx.qualify(node.sequence)
    if isinstance(node, ast.IndexStmt) and node.if_not_exists and node.idxname:
        return "index", f"{ctx.qualify(node.relation).split('.')[0]}.{node.idxname}"
    return None


class CreateOrReplaceInWritableSchema(MigrationRule):
    """CREATE OR REPLACE / IF NOT EXISTS in a schema other roles may create in.

    Why
    ---
    A role that may create in the schema pre-creates the object, owns it, and the
    migration silently keeps theirs ("already exists, skipping") or replaces only
    what it is allowed to (pgspot PS002, PS012: "unsafe object creation").

    Bad
    ---
    ```sql
    GRANT CREATE ON SCHEMA public TO PUBLIC;
    CREATE OR REPLACE FUNCTION public.h() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;
    ```

    Good
    ----
    ```sql
    CREATE FUNCTION app.h() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;
    ```

    Notes
    -----
    Writable schemas come from the live catalog's ACLs; offline, ``public`` counts as
    writable unless the target is PostgreSQL 15 or later. pgrubic's GN007 prefers OR
    REPLACE: only do so in schemas you own.

    References
    ----------
    - https://www.postgresql.org/docs/current/ddl-schemas.html#DDL-SCHEMAS-PATTERNS
    - pgspot: PS002, PS011, PS012, PS014, PS015
    """

    id = "create-or-replace-in-writable-schema"
    severity = Severity.WARNING
    object_kind = "schema"
    docs_url = "https://www.postgresql.org/docs/current/ddl-schemas.html#DDL-SCHEMAS-PATTERNS"

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        found = _replaced(statement.node, ctx)
        if found is None:
            return
        kind, name = found
        schema = name.split(".")[0]
        writable, why = writable_schemas(ctx)
        if schema in writable:
            yield self.at(statement, ctx, f"{kind} {name} is created with OR REPLACE / IF NOT "
                          f"EXISTS in {schema}, where other roles may create objects ({why}): "
                          "one of them can own it first", object=name,
                          fix="plain CREATE in a schema only the migration role may create in")


def _body(node: ast.CreateFunctionStmt) -> tuple[ast.Node, ...]:
    """The parsed statements of a SQL function body (empty when it does not parse)."""
    if node.sql_body is not None:
        return tuple(walk(node.sql_body))
    body = func_option(node, "as")
    text = body[0].sval if isinstance(body, tuple) and body else None
    if text is None:
        return ()
    try:
        return tuple(walk(tuple(raw.stmt for raw in parse_sql(text))))
    except ParseError:
        return ()


class UnqualifiedReferenceInPrivilegedCode(MigrationRule):
    """Unqualified names in a SECURITY DEFINER body without a pinned search_path.

    Why
    ---
    Each unqualified function or table in a privileged body resolves through the
    caller's search_path and can be hijacked (pgspot PS016, PS017).

    Bad
    ---
    ```sql
    CREATE FUNCTION app.k(x int) RETURNS int LANGUAGE sql SECURITY DEFINER AS $$ SELECT abs(x) $$;
    ```

    Good
    ----
    ```sql
    CREATE FUNCTION app.k(x int) RETURNS int LANGUAGE sql SECURITY DEFINER
      SET search_path = pg_catalog, pg_temp AS $$ SELECT pg_catalog.abs(x) $$;
    ```

    Notes
    -----
    SQL-language bodies only; operators are not checked.

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-createfunction.html#SQL-CREATEFUNCTION-SECURITY
    - pgspot: PS016, PS017
    """

    id = "unqualified-reference-in-privileged-code"
    severity = Severity.WARNING
    opt_in = True
    object_kind = "function"
    docs_url = "https://www.postgresql.org/docs/current/sql-createfunction.html#SQL-CREATEFUNCTION-SECURITY"
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.CreateFunctionStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.CreateFunctionStmt)
        if not is_security_definer(node) or search_path_of(node) is not None \
                or language_of(node) != "sql":
            return
        names = sorted({n.funcname[-1].sval or "" for n in _body(node)
                        if isinstance(n, ast.FuncCall) and n.funcname and len(n.funcname) == 1}
                       | {n.relname or "" for n in _body(node)
                          if isinstance(n, ast.RangeVar) and not n.schemaname})
        if names:
            name = function_name(node, ctx)
            yield self.at(statement, ctx, f"SECURITY DEFINER function {name} uses unqualified "
                          f"{', '.join(names)} with the caller's search_path", object=name,
                          fix="qualify them (pg_catalog.abs) or SET search_path = pg_catalog, "
                          "pg_temp")


class UnsafeSetSearchPath(MigrationRule):
    """SET search_path that puts a schema before pg_catalog or pg_temp before the end.

    Why
    ---
    pg_catalog is searched first only when the path does not list it; listing another
    schema before it lets that schema's objects shadow built-ins. pg_temp anywhere but
    last lets any session's temporary objects shadow the rest ("Client Connection
    Defaults", search_path).

    Bad
    ---
    ```sql
    SET search_path = public, pg_catalog;
    ```

    Good
    ----
    ```sql
    SET search_path = pg_catalog, pg_temp;
    ```

    References
    ----------
    - https://www.postgresql.org/docs/current/runtime-config-client.html#GUC-SEARCH-PATH
    - pgspot: PS018
    """

    id = "unsafe-set-search-path"
    severity = Severity.WARNING
    object_kind = "schema"
    docs_url = "https://www.postgresql.org/docs/current/runtime-config-client.html#GUC-SEARCH-PATH"
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.VariableSetStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.VariableSetStmt)
        if (node.name or "").lower() != "search_path":
            return
        path = [s for s in schema_names(node.args) if s]
        fix = "SET search_path = pg_catalog, pg_temp (and qualify names)"
        if "pg_catalog" in path and path.index("pg_catalog") > 0:
            first = ", ".join(path[:path.index("pg_catalog")])
            yield self.at(statement, ctx, f"search_path puts {first} before pg_catalog: objects "
                          "there shadow built-ins", fix=fix)
        elif "pg_temp" in path and path[-1] != "pg_temp":
            yield self.at(statement, ctx, "search_path puts pg_temp before the end: temporary "
                          "objects shadow the rest", fix=fix)


#: PL/pgSQL statements that run a dynamic query, and the key of that query.
_DYNAMIC = {"PLpgSQL_stmt_dynexecute": "query", "PLpgSQL_stmt_dynfors": "query",
            "PLpgSQL_stmt_return_query": "dynquery", "PLpgSQL_stmt_open": "dynquery"}
_QUOTING = {"quote_ident", "quote_literal", "quote_nullable", "format"}


def _dynamic_queries(tree: object) -> Iterator[str]:
    """The query expressions of dynamic EXECUTEs in a parse_plpgsql tree."""
    stack = [tree]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            for key, value in item.items():
                if key in _DYNAMIC and isinstance(value, dict):
                    expr = value.get(_DYNAMIC[key], {}).get("PLpgSQL_expr", {})
                    if expr.get("query"):
                        yield expr["query"]
                stack.append(value)


def _expression(text: str) -> ast.Node | None:
    """The parse tree of one SQL expression (``SELECT <text>``'s target)."""
    select = parse_sql(f"SELECT {text}")[0].stmt
    target = select.targetList[0] if isinstance(select, ast.SelectStmt) \
        and select.targetList else None
    return target.val if isinstance(target, ast.ResTarget) else None


def _unquoted_variables(expr: object) -> bool:
    """True when a string-building expression splices a variable in unquoted: an
    operand of ``||``/``concat()`` that is a variable, or a ``format('%s', var)``."""
    if isinstance(expr, ast.TypeCast):
        return _unquoted_variables(expr.arg)
    if isinstance(expr, ast.ColumnRef):
        return True
    if isinstance(expr, ast.A_Expr) and expr.name and expr.name[-1].sval == "||":
        return _unquoted_variables(expr.lexpr) or _unquoted_variables(expr.rexpr)
    if isinstance(expr, ast.FuncCall):
        fn = expr.funcname[-1].sval if expr.funcname else ""
        args = expr.args or ()
        if fn in ("concat", "concat_ws"):
            return any(_unquoted_variables(a) for a in args)
        if fn == "format" and args and isinstance(args[0], ast.A_Const) \
                and "%s" in str(getattr(args[0].val, "sval", "")):
            return any(isinstance(n, ast.ColumnRef) for a in args[1:] for n in walk(a))
    return False


class DynamicSqlInjection(MigrationRule):
    """PL/pgSQL EXECUTE of a string spliced together from variables without quoting.

    Why
    ---
    A parameter concatenated into a dynamic query is SQL injection inside the database,
    often in SECURITY DEFINER code. ``format('%I', ...)``/``%L``, ``quote_ident`` or
    ``quote_literal``, or ``EXECUTE ... USING`` keep values and names apart ("Executing
    Dynamic Commands", 43.5.4).

    Bad
    ---
    ```sql
    CREATE FUNCTION app.cnt(tbl text) RETURNS bigint LANGUAGE plpgsql AS $$
    DECLARE n bigint; BEGIN EXECUTE concat('SELECT count(*) FROM ', tbl) INTO n; RETURN n; END $$;
    ```

    Good
    ----
    ```sql
    CREATE FUNCTION app.cnt(tbl text) RETURNS bigint LANGUAGE plpgsql AS $$
    DECLARE n bigint; BEGIN EXECUTE format('SELECT count(*) FROM %I', tbl) INTO n; RETURN n; END $$;
    ```

    References
    ----------
    - https://www.postgresql.org/docs/current/plpgsql-statements.html#PLPGSQL-STATEMENTS-EXECUTING-DYN
    - plpgsql_check: security warnings (SQL injection)
    """

    id = "dynamic-sql-injection"
    severity = Severity.WARNING
    object_kind = "function"
    docs_url = "https://www.postgresql.org/docs/current/plpgsql-statements.html#PLPGSQL-STATEMENTS-EXECUTING-DYN"
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.CreateFunctionStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.CreateFunctionStmt)
        if language_of(node) != "plpgsql" or "execute" not in statement.sql.lower():
            return
        try:
            tree = parse_plpgsql(statement.sql)
            queries = [_expression(q) for q in _dynamic_queries(tree)]
        except (ParseError, IndexError, AttributeError):
            return
        if any(_unquoted_variables(q) for q in queries):
            name = function_name(node, ctx)
            yield self.at(statement, ctx, f"function {name} EXECUTEs a query built from "
                          "variables without quoting: SQL injection", object=name,
                          fix="EXECUTE format('... %I ... %L ...', name, value), or pass "
                          "values with USING")
