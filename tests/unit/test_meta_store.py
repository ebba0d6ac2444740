"""The metadata store against a real SQLite file (and PostgreSQL when MIXHOUSE_TEST_POSTGRES_URL is set)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from mixhouse.errors import ConfigError, NotFoundError, StorageError, ValidationError
from mixhouse.meta import CreatedProject, MetaStore
from mixhouse.meta.db import create_meta_engine, meta_url
from mixhouse.meta.models import Base
from mixhouse.meta.store import secret_digest
from tests.support.meta_db import TEST_POSTGRES_URL as POSTGRES_URL
from tests.support.meta_db import reset as _reset_postgres

HEX = set("0123456789abcdef")


@pytest.fixture(autouse=True)
def _no_meta_url(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests name their database; ``MetaStore.for_data_dir`` must mean the data directory's SQLite file even
    in the PostgreSQL pass (which sets MIXHOUSE_META_URL for the servers)."""
    monkeypatch.delenv("MIXHOUSE_META_URL", raising=False)


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param(
            "postgres",
            marks=pytest.mark.skipif(
                not POSTGRES_URL,
                reason="set MIXHOUSE_TEST_POSTGRES_URL to run the metadata tests on PostgreSQL",
            ),
        ),
    ]
)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database URL with no schema yet."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'meta.sqlite3'}"
        return
    assert POSTGRES_URL is not None
    _reset_postgres(POSTGRES_URL)
    yield POSTGRES_URL
    _reset_postgres(POSTGRES_URL)


@pytest.fixture
def store(url: str) -> Iterator[MetaStore]:
    with MetaStore(url) as meta:
        meta.migrate()
        yield meta


@pytest.fixture
def created(store: MetaStore) -> CreatedProject:
    return store.create_project("Demo", timezone="Europe/Paris")


# -- schema --------------------------------------------------------------------------------------------------


def test_migrate_twice_is_idempotent(url: str) -> None:
    with MetaStore(url) as meta:
        meta.migrate()
        first = meta.create_project("Before")
        meta.migrate()
        assert meta.list_projects() == [first.project]
        with meta.engine.connect() as connection:
            assert connection.scalar(text("SELECT version_num FROM alembic_version")) == "0013"
            tables = set(inspect(connection).get_table_names())
    assert {"organizations", "projects", "service_accounts", "project_members"} <= tables


def test_migration_matches_models(store: MetaStore) -> None:
    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_token_lookup_is_indexed(store: MetaStore) -> None:
    with store.engine.connect() as connection:
        indexes = inspect(connection).get_indexes("projects")
    assert any(ix["column_names"] == ["token"] and ix["unique"] for ix in indexes)


def test_unmigrated_store_raises_storage_error(url: str) -> None:
    with MetaStore(url) as meta, pytest.raises(StorageError, match="has the store been migrated"):
        meta.list_projects()


def test_sqlite_pragmas(tmp_path: Path) -> None:
    with MetaStore.for_data_dir(tmp_path / "nested" / "data") as meta:
        assert (tmp_path / "nested" / "data").is_dir()
        with meta.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar_one() >= 1000
        assert (tmp_path / "nested" / "data" / "meta.sqlite3").exists()


def test_meta_url_flag_then_environment_then_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sqlite_file = f"sqlite:///{(tmp_path / 'meta.sqlite3').resolve()}"
    assert meta_url(tmp_path).render_as_string() == sqlite_file
    monkeypatch.setenv("MIXHOUSE_META_URL", "")  # empty: not set
    assert meta_url(tmp_path).render_as_string() == sqlite_file
    monkeypatch.setenv("MIXHOUSE_META_URL", "postgres://env@db/meta")
    assert meta_url(tmp_path).render_as_string() == "postgresql+psycopg://env@db/meta"  # psycopg 3 by default
    assert meta_url(tmp_path, "postgresql://flag:pw@db:5433/m").render_as_string(hide_password=False) == (
        "postgresql+psycopg://flag:pw@db:5433/m")
    assert meta_url(tmp_path, "sqlite:////elsewhere/m.db").render_as_string() == "sqlite:////elsewhere/m.db"
    with pytest.raises(ConfigError) as refused:
        meta_url(tmp_path, "not a url, password hunter2")
    assert "hunter2" not in refused.value.message
    with MetaStore.for_data_dir(tmp_path / "unused", "postgresql://u@127.0.0.1:1/none") as meta:
        assert meta.url.drivername == "postgresql+psycopg"
    assert not (tmp_path / "unused").exists()  # the data directory is not the store's business then


# -- projects ------------------------------------------------------------------------------------------------


def test_create_list_get(store: MetaStore, created: CreatedProject) -> None:
    project = created.project
    assert project.id == 1
    assert project.name == "Demo"
    assert project.timezone == "Europe/Paris"
    assert project.identity_mode == "simplified"
    assert len(project.token) == 32 and set(project.token) <= HEX
    assert len(created.api_secret) == 32 and set(created.api_secret) <= HEX
    assert created.service_account_username.startswith("mixhouse-sa.")
    assert project.created_at.tzinfo is not None
    assert abs(project.created_at - datetime.now(UTC)) < timedelta(minutes=5)

    second = store.create_project("  Other  ")
    assert second.project.id == 2
    assert second.project.name == "Other"
    assert second.project.timezone == "UTC"
    assert second.project.organization_id == project.organization_id
    assert second.project.token != project.token
    assert second.api_secret != created.api_secret

    assert store.list_projects() == [project, second.project]
    assert store.get_project(project.id) == project
    assert store.get_project(999) is None

    elsewhere = store.create_project("Acme app", organization_name="Acme")
    assert elsewhere.project.organization_id != project.organization_id


def test_created_project_repr_hides_secrets(created: CreatedProject) -> None:
    shown = repr(created)
    assert created.api_secret not in shown
    assert created.service_account_secret not in shown


def test_token_and_secret_lookup(store: MetaStore, created: CreatedProject) -> None:
    other = store.create_project("Other")
    assert store.project_by_token(created.project.token) == created.project
    assert store.project_by_token(other.project.token) == other.project
    assert store.project_by_token("0" * 32) is None
    assert store.project_by_token("") is None

    assert store.project_by_secret(created.api_secret) == created.project
    assert store.project_by_secret(other.api_secret) == other.project
    assert store.project_by_secret(created.api_secret[:-1] + "x") is None
    assert store.project_by_secret(created.project.token) is None
    assert store.project_by_secret("") is None


def test_service_account_auth_and_owner_role(store: MetaStore, created: CreatedProject) -> None:
    other = store.create_project("Other")
    account = store.authenticate_service_account(created.service_account_username, created.service_account_secret)
    assert account is not None
    assert account.username == created.service_account_username
    assert account.organization_id == created.project.organization_id
    assert store.role_in_project(account.id, created.project.id) == "owner"
    assert store.role_in_project(account.id, other.project.id) is None
    assert store.role_in_project(account.id, 999) is None

    assert store.authenticate_service_account(created.service_account_username, "wrong") is None
    assert store.authenticate_service_account(created.service_account_username, created.api_secret) is None
    assert store.authenticate_service_account("mixhouse-sa.nobody", created.service_account_secret) is None
    assert store.authenticate_service_account(other.service_account_username, created.service_account_secret) is None


def test_set_identity_mode(store: MetaStore, created: CreatedProject) -> None:
    updated = store.set_identity_mode(created.project.id, "original")
    assert updated.identity_mode == "original"
    assert store.get_project(created.project.id) == updated
    with pytest.raises(ValidationError):
        store.set_identity_mode(created.project.id, "merged")
    with pytest.raises(NotFoundError):
        store.set_identity_mode(999, "simplified")


@pytest.mark.parametrize("timezone", ["Mars/Olympus_Mons", "", "../etc/passwd", "/etc/localtime", "utc+1"])
def test_bad_timezone_raises(store: MetaStore, timezone: str) -> None:
    with pytest.raises(ValidationError):
        store.create_project("Demo", timezone=timezone)
    assert store.list_projects() == []


def test_bad_inputs_raise(store: MetaStore) -> None:
    with pytest.raises(ValidationError):
        store.create_project("Demo", identity_mode="merged")
    with pytest.raises(ValidationError):
        store.create_project("   ")
    with pytest.raises(ValidationError):
        store.create_project("Demo", organization_name="")
    with pytest.raises(ValidationError):
        store.create_project("x" * 256)
    assert store.list_projects() == []


# -- sharing one database -----------------------------------------------------------------------------------


def test_two_stores_see_each_others_writes(url: str) -> None:
    with MetaStore(url) as server, MetaStore(url) as cli:
        server.migrate()
        cli.migrate()
        assert server.list_projects() == []
        made = cli.create_project("From the CLI")
        assert server.project_by_token(made.project.token) == made.project
        assert server.project_by_secret(made.api_secret) == made.project
        server.set_identity_mode(made.project.id, "original")
        seen = cli.get_project(made.project.id)
        assert seen is not None and seen.identity_mode == "original"


def test_concurrent_writers_from_two_stores(url: str) -> None:
    with MetaStore(url) as first, MetaStore(url) as second:
        first.migrate()
        errors: list[BaseException] = []

        def create(meta: MetaStore, prefix: str) -> None:
            try:
                for i in range(10):
                    meta.create_project(f"{prefix}-{i}")
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=create, args=(m, p)) for m, p in ((first, "a"), (second, "b"))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        projects = second.list_projects()
        assert [p.id for p in projects] == list(range(1, 21))
        assert len({p.organization_id for p in projects}) == 1


def test_another_process_writes_the_same_file(tmp_path: Path) -> None:
    with MetaStore.for_data_dir(tmp_path) as server:
        server.migrate()
        script = (
            "import sys; from pathlib import Path; from mixhouse.meta import MetaStore\n"
            "with MetaStore.for_data_dir(Path(sys.argv[1])) as cli:\n"
            "    cli.migrate(); print(cli.create_project('cli').project.token)\n"
        )
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        done = subprocess.run(
            [sys.executable, "-c", script, str(tmp_path)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        token = done.stdout.strip()
        project = server.project_by_token(token)
        assert project is not None and project.name == "cli"


# -- secrets at rest ---------------------------------------------------------------------------------------


def _everything_stored(url: str, tmp_path: Path) -> str:
    if url.startswith("sqlite"):
        # The main file and any WAL / shared-memory side files.
        return b"".join(p.read_bytes() for p in sorted(tmp_path.glob("meta.sqlite3*"))).decode("latin-1")
    engine = create_meta_engine(url)
    try:
        with engine.connect() as connection:
            chunks = []
            for table in Base.metadata.sorted_tables:
                for row in connection.execute(table.select()):
                    chunks.append(" ".join(str(value) for value in row))
            return "\n".join(chunks)
    finally:
        engine.dispose()


def test_secrets_are_not_stored_in_plain_text(url: str, tmp_path: Path) -> None:
    with MetaStore(url) as meta:
        meta.migrate()
        made = meta.create_project("Secretive")
        stored_before_close = _everything_stored(url, tmp_path)
    stored = _everything_stored(url, tmp_path) + stored_before_close
    # Positive controls: the dump does contain what was written.
    assert made.project.token in stored
    assert secret_digest(made.api_secret) in stored
    assert secret_digest(made.service_account_secret) in stored
    assert made.api_secret not in stored
    assert made.service_account_secret not in stored


def test_reports_are_saved_listed_and_scoped_to_their_project(store: MetaStore, created: CreatedProject) -> None:
    project = created.project.id
    other = store.create_project("other").project.id
    steps = {"sections": {"show": [{"behavior": {"type": "funnel", "behaviors": [{"name": "A"}, {"name": "B"}]}}]}}
    funnel = store.create_report(project, "funnels", " Sign-up funnel ", steps, description="two steps")
    insight = store.create_report(project, "insights", "Daily logins", {"sections": {}})
    store.create_report(other, "funnels", "Someone else's", steps)
    assert (funnel.name, funnel.type, funnel.params, funnel.description) == ("Sign-up funnel", "funnels", steps,
                                                                              "two steps")
    assert [r.id for r in store.list_reports(project)] == [funnel.id, insight.id]
    assert [r.name for r in store.list_reports(project, "funnels")] == ["Sign-up funnel"]
    assert store.get_report(project, funnel.id) == funnel
    assert store.get_report(other, funnel.id) is None  # another project's report reads as missing
    with pytest.raises(ValidationError):
        store.create_report(project, "dashboards", "x", {})
    with pytest.raises(ValidationError):
        store.create_report(project, "funnels", "", steps)
    with pytest.raises(NotFoundError):
        store.create_report(10_000, "funnels", "x", steps)


def test_every_project_has_a_global_default_workspace(store: MetaStore, created: CreatedProject) -> None:
    other = store.create_project("Other")
    (workspace,) = store.list_workspaces(created.project.id)
    assert (workspace.project_id, workspace.name, workspace.is_default, workspace.is_global, workspace.is_visible,
            workspace.is_restricted) == (created.project.id, "All Project Data", True, True, True, False)
    assert [w.project_id for w in store.list_workspaces(other.project.id)] == [other.project.id]
    assert store.list_workspaces(999) == []


def test_memberships_list_the_accounts_projects_and_roles(store: MetaStore, created: CreatedProject) -> None:
    store.create_project("Other")
    account = store.authenticate_service_account(created.service_account_username, created.service_account_secret)
    assert account is not None
    (membership,) = store.memberships(account.id)
    assert (membership.project, membership.role, membership.organization_name) == (
        created.project, "owner", "Default organization")


def test_projects_made_before_workspaces_get_theirs(tmp_path: Path) -> None:
    from alembic import command

    from mixhouse.meta.migrations import alembic_config

    url = f"sqlite:///{tmp_path / 'meta.sqlite3'}"
    with MetaStore(url) as meta:
        with meta.engine.begin() as connection:
            command.upgrade(alembic_config(connection=connection), "0002")
        with meta.engine.begin() as connection:
            connection.execute(text("INSERT INTO organizations (name) VALUES ('o')"))
            connection.execute(text(
                "INSERT INTO projects (organization_id, name, timezone, token, api_secret_hash, api_secret_hint, "
                "identity_mode) VALUES (1, 'old', 'UTC', 't0', 'h0', 'hint', 'simplified')"))
        meta.migrate()
        assert [(w.project_id, w.name, w.is_global) for w in meta.list_workspaces(1)] == [(1, "All Project Data", True)]


def test_rotating_the_secret_and_the_token(store: MetaStore, created: CreatedProject) -> None:
    project = created.project
    secret = store.rotate_api_secret(project.id)
    assert secret != created.api_secret
    assert store.project_by_secret(created.api_secret) is None
    assert store.project_by_secret(secret) == store.get_project(project.id)
    token = store.rotate_token(project.id)
    assert store.project_by_token(project.token) is None
    rotated = store.project_by_token(token)
    assert rotated is not None and rotated.id == project.id
    with pytest.raises(NotFoundError):
        store.rotate_token(999)


def test_a_code_and_a_refresh_token_are_used_once_under_concurrency(store: MetaStore,
                                                                    created: CreatedProject) -> None:
    """Write transactions hold the writer lock from their start (an advisory lock on PostgreSQL), so racing
    redemptions of one authorization code or one refresh token succeed exactly once."""
    from concurrent.futures import ThreadPoolExecutor

    from mixhouse.meta.oauth import OAuthStore

    oauth = OAuthStore(store)
    client = oauth.register("racer", ["http://localhost/cb"])
    account = store.authenticate_service_account(created.service_account_username, created.service_account_secret)
    assert account is not None
    code = oauth.issue_code(client.client_id, account.id, "http://localhost/cb", "c" * 43)
    with ThreadPoolExecutor(6) as pool:
        redeemed = list(pool.map(lambda _: oauth.redeem_code(code, client.client_id, "http://localhost/cb"),
                                 range(6)))
    assert sum(r is not None for r in redeemed) == 1
    refresh = oauth.issue_tokens(client.client_id, account.id).refresh_token
    with ThreadPoolExecutor(6) as pool:
        used = list(pool.map(lambda _: oauth.use_refresh_token(refresh, client.client_id), range(6)))
    assert sum(u is not None for u in used) == 1


def test_a_due_alert_check_is_claimed_once_across_stores(store: MetaStore, url: str, created: CreatedProject) -> None:
    """Server processes sharing the metadata store each run an alert scheduler: a due check is claimed by exactly
    one of them (here: four stores on the same database, claiming at once), and not again until it is due."""
    from mixhouse.meta.alerts import Alerts, claim_check
    from mixhouse.meta.records import Actor

    report = store.create_report(created.project.id, "insights", "Daily logins", {"sections": {}})
    alerts = Alerts(store, created.project.id)
    alert = alerts.create({"report_id": report.id, "name": "drop", "condition": {}, "frequency": 3600,
                           "subscriptions": []}, Actor(None, "test"), limit=10)
    now = datetime.now(UTC)
    others = [MetaStore(url) for _ in range(3)]
    claims: list[object] = []
    start = threading.Barrier(4)

    def claim(meta: MetaStore) -> None:
        start.wait()
        claims.append(claim_check(meta, alert.id, now))

    threads = [threading.Thread(target=claim, args=(meta,)) for meta in [store, *others]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for meta in others:
        meta.close()
    won = [claimed for claimed in claims if claimed is not None]
    assert len(claims) == 4 and len(won) == 1
    stored = alerts.get(alert.id)
    assert stored is not None and stored.last_checked == now
    assert claim_check(store, alert.id, now + timedelta(minutes=59)) is None  # not due yet
    assert claim_check(store, alert.id, now + timedelta(hours=1)) is not None  # due again
    alerts.update(alert.id, {"paused": True})
    assert claim_check(store, alert.id, now + timedelta(hours=3)) is None  # paused alerts are never claimed
