"""The official ``mixpanel`` SDK's local and remote flag providers, unmodified, against the server over HTTPS (a
self-signed certificate trusted through ``SSL_CERT_FILE`` for httpx and ``REQUESTS_CA_BUNDLE`` for the tracking
consumer): remote and local evaluation agree user by user, rollouts hold about their percentage, test users and
variant overrides win, runtime rules apply, disabled and archived flags fall back, and exposures are stored."""

from __future__ import annotations

import ssl
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme
from mixpanel import Consumer, Mixpanel, ServiceAccountCredentials
from mixpanel.flags.types import LocalFlagsConfig, RemoteFlagsConfig, SelectedVariant

from tests.conftest import ProjectCreds, make_project
from tests.support.app_api import call, sa
from tests.support.readback import export
from tests.support.server import ServerProcess

USERS = [f"user-{i}" for i in range(1000)]
SPLIT = {"variants": [{"key": "red", "value": "#f00", "is_control": True, "split": 50},
                      {"key": "green", "value": "#0f0", "split": 30},
                      {"key": "blue", "value": "#00f", "split": 20}],
         "rollout": [{"rollout_percentage": 0.6}]}


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, Path]]:
    tmp = tmp_path_factory.mktemp("flags-tls")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert_file, key_file, ca_file = tmp / "cert.pem", tmp / "key.pem", tmp / "ca.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))
    ca.cert_pem.write_to_path(str(ca_file))
    server = ServerProcess(data_dir=tmp / "data", scheme="https",
                           extra_args=("--tls-cert", str(cert_file), "--tls-key", str(key_file)))
    server.start(verify=ssl.create_default_context(cafile=str(ca_file)))
    yield server, ca_file
    server.stop()


@pytest.fixture(scope="module")
def trusted(tls: tuple[ServerProcess, Path]) -> Iterator[None]:
    """The CA trusted the way a user would: through the environment, for the module's tests."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("SSL_CERT_FILE", str(tls[1]))  # httpx: the flag providers
        env.setenv("REQUESTS_CA_BUNDLE", str(tls[1]))  # requests: the tracking consumer
        yield


@pytest.fixture(scope="module")
def app(tls: tuple[ServerProcess, Path], trusted: None) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=tls[0].url, timeout=30.0) as client:
        yield client


@pytest.fixture(scope="module")
def creds(tls: tuple[ServerProcess, Path]) -> ProjectCreds:
    return make_project(tls[0].data_dir, "sdk-flags")


def sdk(server: ServerProcess, creds: ProjectCreds, **options: Any) -> Mixpanel:
    host = server.host
    consumer = Consumer(events_url=f"{server.url}/track", people_url=f"{server.url}/engage")
    return Mixpanel(creds.token, consumer=consumer, **options,
                    local_flags_config=LocalFlagsConfig(api_host=host, enable_polling=False),
                    remote_flags_config=RemoteFlagsConfig(api_host=host))


def close(mp: Mixpanel) -> None:
    """Close every connection: an idle TLS keep-alive would hold the server's graceful shutdown."""
    mp.local_flags.shutdown()
    mp.remote_flags.shutdown()
    mp._consumer._session.close()


@pytest.fixture(scope="module")
def flags(app: httpx.Client, creds: ProjectCreds) -> dict[str, str]:
    """The flag ids by key: a split with a 60 % rollout, test users only, an override, a runtime rule, a disabled
    one, and one to archive."""
    workspace = call(app, "GET", f"/api/app/projects/{creds.project_id}/workspaces/public", sa(creds))["results"][0]
    base = f"/api/app/projects/{creds.project_id}/workspaces/{workspace['id']}/feature-flags/"
    on_off = [{"key": "on", "value": True, "split": 1}, {"key": "off", "value": False, "is_control": True}]
    made = {}
    for key, status, ruleset in (
        ("colour", "enabled", SPLIT),
        ("beta", "enabled", {"variants": on_off, "rollout": [{"rollout_percentage": 0}]}),
        ("forced", "enabled", {"variants": on_off, "rollout": [{"rollout_percentage": 1,
                                                                "variant_override": {"key": "off"}}]}),
        ("pro_only", "enabled", {"variants": on_off, "rollout": [{
            "rollout_percentage": 1, "runtime_evaluation_rule": {"==": [{"var": "plan"}, "Pro"]}}]}),
        ("dormant", "disabled", {"variants": on_off, "rollout": [{"rollout_percentage": 1}]}),
        ("doomed", "enabled", {"variants": on_off, "rollout": [{"rollout_percentage": 1}]}),
    ):
        body = {"name": key.title(), "key": key, "status": status, "ruleset": ruleset}
        made[key] = call(app, "POST", base, sa(creds), body=body)["results"]["id"]
    call(app, "PUT", f"{base}{made['beta']}/test-users/", sa(creds), 204,
         body={"users": {"on": ["tester-1", "user-7"], "off": "tester-2"}})
    call(app, "PUT", f"{base}{made['colour']}/test-users/", sa(creds), 204, body={"users": {"blue": "tester-1"}})
    made["base"] = base
    return made


def test_remote_and_local_agree_and_the_rollout_holds(tls: Any, creds: ProjectCreds, flags: dict[str, str]) -> None:
    mp = sdk(tls[0], creds)
    try:
        mp.local_flags.start_polling_for_definitions()
        assert mp.local_flags.are_flags_ready()
        fallback = SelectedVariant(variant_value="fallback")
        local, remote = {}, {}
        for user in USERS:
            context = {"distinct_id": user}
            local[user] = mp.local_flags.get_variant("colour", fallback, context, report_exposure=False).variant_key
            remote[user] = (mp.remote_flags.get_all_variants(context) or {}).get("colour")
        assert {user: v.variant_key if v else None for user, v in remote.items()} == local
        counts = Counter(local.values())
        served = len(USERS) - counts[None]
        # the hash salt is random per flag, so these are statistical: each bound is about 4 standard deviations
        assert abs(served / len(USERS) - 0.6) < 0.06, counts
        for variant, split in (("red", 0.5), ("green", 0.3), ("blue", 0.2)):
            assert abs(counts[variant] / served - split) < 0.08, counts
        assert all(v.variant_source == "remote" for v in remote.values() if v)
    finally:
        close(mp)


def test_test_users_overrides_rules_and_fallbacks(tls: Any, creds: ProjectCreds, flags: dict[str, str]) -> None:
    mp = sdk(tls[0], creds)
    try:
        mp.local_flags.start_polling_for_definitions()
        fallback = SelectedVariant(variant_value="fallback")

        def picks(key: str, context: dict[str, Any]) -> list[SelectedVariant]:
            return [mp.local_flags.get_variant(key, fallback, context, report_exposure=False),
                    mp.remote_flags.get_variant(key, fallback, context, reportExposure=False)]

        def values(key: str, context: dict[str, Any]) -> set[Any]:
            return {v.variant_value for v in picks(key, context)}

        def variants(key: str, context: dict[str, Any]) -> set[tuple[Any, Any]]:
            return {(v.variant_key, v.is_qa_tester) for v in picks(key, context)}

        assert variants("beta", {"distinct_id": "tester-1"}) == {("on", True)}  # a 0 % rollout, but a test user
        assert variants("beta", {"distinct_id": "tester-2"}) == {("off", True)}
        assert values("beta", {"distinct_id": "user-7"}) == {True}
        assert values("beta", {"distinct_id": "user-8"}) == {"fallback"}
        assert variants("colour", {"distinct_id": "tester-1"}) == {("blue", True)}
        assert values("forced", {"distinct_id": "anyone"}) == {False}
        pro = {"distinct_id": "payer", "custom_properties": {"plan": "PRO"}}
        assert values("pro_only", pro) == {True}  # case-insensitive, as the SDK compares
        assert values("pro_only", {"distinct_id": "free", "custom_properties": {"plan": "free"}}) == {"fallback"}
        assert values("pro_only", {"distinct_id": "nobody"}) == {"fallback"}
        assert values("dormant", {"distinct_id": "anyone"}) == {"fallback"}
        assert values("doomed", {"distinct_id": "anyone"}) == {True}
        assert values("colour", {"not_the_context": "x"}) == {"fallback"}
    finally:
        close(mp)


def test_archived_flags_fall_back(tls: Any, app: httpx.Client, creds: ProjectCreds, flags: dict[str, str]) -> None:
    call(app, "POST", f"{flags['base']}{flags['doomed']}/archive/", sa(creds), 204)
    mp = sdk(tls[0], creds)
    try:
        mp.local_flags.start_polling_for_definitions()
        for provider in (mp.local_flags, mp.remote_flags):
            assert provider.get_variant_value("doomed", "fallback", {"distinct_id": "anyone"}) == "fallback"
    finally:
        close(mp)
    call(app, "DELETE", f"{flags['base']}{flags['doomed']}/archive/", sa(creds), 200)


def test_service_account_credentials_and_other_projects(tls: Any, app: httpx.Client, creds: ProjectCreds,
                                                         flags: dict[str, str]) -> None:
    server = tls[0]
    account = ServiceAccountCredentials(creds.sa_username, creds.sa_secret, str(creds.project_id))
    mp = sdk(server, creds, credentials=account)
    other = make_project(server.data_dir, "sdk-flags-other")
    stranger = sdk(server, other)
    try:
        assert mp.remote_flags.get_variant_value("forced", "fallback", {"distinct_id": "x"}) is False
        assert stranger.remote_flags.get_variant_value("forced", "fallback", {"distinct_id": "x"}) == "fallback"
        stranger.local_flags.start_polling_for_definitions()
        assert stranger.local_flags.get_variant_value("forced", "fallback", {"distinct_id": "x"}) == "fallback"
    finally:
        close(mp)
        close(stranger)
    assert app.get("/flags/definitions", auth=("not-a-token", "")).status_code == 401
    assert app.get("/flags/definitions").status_code == 401
    assert app.get("/flags", params={"token": creds.token}).status_code == 400  # no context
    definitions = app.get("/flags/definitions", params={"token": creds.token}).json()
    # only enabled flags: "dormant" is disabled, "doomed" came back from the archive disabled
    assert {f["key"] for f in definitions["flags"]} == {"colour", "beta", "forced", "pro_only"}


def test_exposure_events_are_stored(tls: Any, app: httpx.Client, creds: ProjectCreds, flags: dict[str, str]) -> None:
    mp = sdk(tls[0], creds)
    try:
        mp.local_flags.start_polling_for_definitions()
        assert mp.local_flags.get_variant_value("forced", "fallback", {"distinct_id": "seen-local"}) is False
        assert mp.remote_flags.get_variant_value("forced", "fallback", {"distinct_id": "seen-remote"}) is False
    finally:
        close(mp)
    today = datetime.now(UTC).date()
    events = export(app, creds, from_date=(today - timedelta(days=1)).isoformat(), to_date=today.isoformat(),
                    event='["$experiment_started"]')
    exposures = {e["properties"]["distinct_id"]: e["properties"] for e in events}
    assert {"seen-local", "seen-remote"} <= set(exposures)
    for user, mode in (("seen-local", "local"), ("seen-remote", "remote")):
        props = exposures[user]
        assert (props["Experiment name"], props["Variant name"], props["$experiment_type"],
                props["Flag evaluation mode"]) == ("forced", "off", "feature_flag", mode)
