"""``migrate verify`` on Harness's real history (../shared/data/harness-migrations).

Imported with the engine (as in ``test_harness.py``), verified on a scratch database
copied from a template that holds the upstream runner's own table. Every migration
that is not reversible is listed, by its upstream name, with why; a few were checked by
hand against the upstream files, and their words are pinned exactly:

- ``0069_create_table_usergroup_reviewers`` drops ``usergroups_reviewers``, a table it
  never created (it created ``usergroup_reviewers``): the down fails;
- ``0045_alter_table_repo_add_deletetimestamp``'s down drops ``repo_deleted`` first,
  which takes the partial index on it along, so its ``DROP INDEX`` fails;
- ``0027_create_ci_tables``'s down drops ``pipelines`` while tables it also created
  still reference it (it drops them later);
- ``0042_drop_table_reqchecks``'s down only says "Table was never used, keep deleted":
  the table is not restored;
- ``0097_update_ar_generic_artifact_tables``'s down creates ``unique_node_path``
  instead of restoring ``unique_nodes``, so the second up fails on the name it drops.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from conftest import shared_path
from test_harness import EXTENSIONS, UPSTREAM_TABLE, original_of, stem

from pgkeel.migrations import import_history
from pgkeel.migrations.importer import DEFAULT_START
from pgkeel.migrations.verify import AFTER_DOWN, verify
from pgkeel.migrations.verify_report import findings
from pgkeel.testing import TestDatabase

# Upstream name -> verdict, for every migration that is not reversible (and not
# missing its down upstream: those are the no-down ones, counted below).
BROKEN = {
    "0013_create_table_pullreq_reviewers": "down-incomplete",
    "0018_alter_check_add_payload_version": "down-incomplete",
    "0027_create_ci_tables": "down-fails",
    "0028_alter_token_drop_grants": "down-incomplete",
    "0040_alter_table_templates_add_type": "down-incomplete",
    "0042_drop_table_reqchecks": "down-incomplete",
    "0045_alter_table_repo_add_deletetimestamp": "down-fails",
    "0046_alter_table_spaces_add_deletetimestamp": "down-fails",
    "0050_create_table_public_resources": "down-incomplete",
    "0053_alter_cde_tables": "down-incomplete",
    "0055_alter_cde_tables_events_and_gitspaces": "down-incomplete",
    "0057_alter_repositories_add_state": "down-incomplete",
    "0063_alter_infra_provisioned_drop_template": "down-incomplete",
    "0064_alter_delegate_provision_modify_column": "down-incomplete",
    "0065_alter_gitspace_config_add_ssh_identifier": "down-incomplete",
    "0069_create_table_usergroup_reviewers": "down-fails",
    "0071_alter_infra_provider_resource_drop_gateway": "down-incomplete",
    "0072_create_ar_table_images_and_alter_table_artifacts": "down-incomplete",
    "0074_create_table_connectors": "down-incomplete",
    "0077_alter_gitspace_instance_add_heartbeat": "down-incomplete",
    "0079_alter_gitspaces_add_has_git_changes": "down-incomplete",
    "0090_alter_webhooks_add_type": "down-incomplete",
    "0092_create_ar_file_manager_tables": "down-incomplete",
    "0096_update_fk_manifest_references_gc": "down-incomplete",
    "0097_update_ar_generic_artifact_tables": "down-incomplete",
    "0114_alter_table_delegate_provision_details_drop_column_agent_port": "down-incomplete",
    "0128_replace_gc_track_deleted_layers_function": "down-incomplete",
    "0162": "down-incomplete",
}


@pytest.fixture
def harness_template(pg_database: TestDatabase) -> str:
    with pg_database.connect() as conn:
        available = {r[0] for r in conn.execute(
            "SELECT name FROM pg_available_extensions WHERE name = ANY(%s)",
            (list(EXTENSIONS),))}
        if set(EXTENSIONS) - available:
            pytest.skip(f"PostgreSQL {pg_database.cluster.major} here lacks "
                        f"{sorted(set(EXTENSIONS) - available)}, which Harness needs")
        conn.execute(UPSTREAM_TABLE)
    return pg_database.name


def test_harness_downs_are_named_exactly(pg_database: TestDatabase, harness_template: str,
                                         tmp_path: Path) -> None:
    source = shared_path("harness-migrations", "postgres")
    report = import_history(source, tmp_path, "golang-migrate", start=DEFAULT_START)
    result = verify(pg_database.cluster.url(), tmp_path, template=harness_template)
    assert result.stopped is None and len(result.migrations) == 209
    by_name = {original_of(c.path): c for c in result.migrations}

    # No down: exactly the ups the import found without a usable down file.
    no_down = {name for name, c in by_name.items() if c.verdict == "no-down"}
    assert no_down == ({stem(p) for p in report.unpaired_ups}
                       | {stem(n.path) for n in report.unparsable_downs})
    assert len(no_down) == 31
    broken = {name: c.verdict for name, c in by_name.items()
              if c.verdict not in ("reversible", "no-down")}
    assert broken == BROKEN

    def said(name: str) -> list[str]:
        check = by_name[name]
        words = [d.describe(AFTER_DOWN) for d in check.down_differences]
        if check.error:
            e = check.error
            words.append(f"{e.section} statement {e.index + 1} (line {e.line}): {e.sql}: "
                         f"{e.message} [{e.sqlstate}]")
        return words

    assert said("0069_create_table_usergroup_reviewers") == [
        "down statement 1 (line 32): DROP TABLE usergroups_reviewers: "
        'table "usergroups_reviewers" does not exist [42P01]']
    assert said("0045_alter_table_repo_add_deletetimestamp") == [
        "down statement 2 (line 20): DROP INDEX repositories_parent_id_uid: "
        'index "repositories_parent_id_uid" does not exist [42704]']
    assert said("0027_create_ci_tables")[0].startswith(
        "down statement 1 (line 213): DROP TABLE pipelines: cannot drop table pipelines "
        "because other objects depend on it [2BP01]")
    assert said("0042_drop_table_reqchecks") == [
        "table `reqchecks` was not restored by down",
        "sequence `reqchecks_reqcheck_id_seq` was not restored by down"]
    assert said("0097_update_ar_generic_artifact_tables") == [
        "unique constraint `unique_node_path` on `nodes` still exists after down",
        "unique constraint `unique_nodes` on `nodes` was not restored by down",
        "reapply statement 2 (line 6): ALTER TABLE nodes DROP CONSTRAINT unique_nodes: "
        'constraint "unique_nodes" of relation "nodes" does not exist [42704]']

    # Every broken down is a finding at its file; nothing reversible is.
    found = findings(result)
    assert Counter(f.rule for f in found)["irreversible-migration"] == 31
    assert {Path(f.file).name for f in found if f.file} == {
        c.path.name for c in result.migrations if not c.reversible}
