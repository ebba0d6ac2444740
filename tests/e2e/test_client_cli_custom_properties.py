"""``mp custom-properties`` against a live Mixhouse server, run as a user runs it (a subprocess); every change is
read back from the server over HTTP."""

from __future__ import annotations

from pathlib import Path

import httpx
import orjson

from tests.conftest import make_project
from tests.e2e.test_client_cli import _env, _ok, mp
from tests.support.server import ServerProcess


def test_custom_properties_commands(server: ServerProcess, tmp_path: Path) -> None:
    creds = make_project(server.data_dir, "client-cli-custom-props")
    env = _env(server, creds, tmp_path)
    base = f"{server.url}/api/app/projects/{creds.project_id}/custom_properties/"
    auth = (creds.sa_username, creds.sa_secret)

    def stored(pid: int) -> dict[str, object]:
        response = httpx.get(f"{base}{pid}/", auth=auth)
        assert response.status_code == 200, response.text
        return dict(response.json()["results"])

    ok = _ok(mp(env, "custom-properties", "validate", "--name", "Total", "--formula", "A * B",
                "--input", "A=price:number", "--input", "B=quantity:number"))
    assert ok == {"valid": True, "errors": []}
    invalid = mp(env, "custom-properties", "validate", "--name", "Total", "--formula", "A * C",
                 "--input", "A=price:number")
    assert invalid.returncode == 3
    assert orjson.loads(invalid.stdout)["errors"] == [
        "displayFormula uses C, which is not in composedProperties (its inputs: A)"]

    made = _ok(mp(env, "custom-properties", "create", "--name", "Total", "--formula", "A * B",
                  "--input", "A=price:number", "--input", "B=quantity:number", "--property-type", "number",
                  "--description", "price x quantity"))
    pid = made["customPropertyId"]
    assert stored(pid) == made
    assert made["composedProperties"] == {"A": {"value": "price", "type": "number", "resourceType": "event"},
                                          "B": {"value": "quantity", "type": "number", "resourceType": "event"}}
    (tmp_path / "inputs.json").write_text('{"A": {"value": "$email", "resourceType": "user"}}')
    people = _ok(mp(env, "custom-properties", "create", "--name", "Domain", "--resource-type", "people",
                    "--formula", 'split(A, "@", 2)', "--inputs", f"@{tmp_path / 'inputs.json'}", "--locked"))
    assert (people["resourceType"], people["isLocked"]) == ("people", True)
    assert [p["customPropertyId"] for p in _ok(mp(env, "custom-properties", "list"))] == [
        pid, people["customPropertyId"]]
    assert _ok(mp(env, "custom-properties", "get", str(pid)))["name"] == "Total"

    renamed = _ok(mp(env, "custom-properties", "update", str(pid), "--name", "Line total", "--hidden"))
    assert (renamed["name"], renamed["isVisible"], renamed["displayFormula"]) == ("Line total", False, "A * B")
    assert stored(pid)["name"] == "Line total"
    refused = mp(env, "custom-properties", "update", str(pid), "--formula", "A * Q")
    assert refused.returncode == 3 and "displayFormula uses Q" in refused.stderr
    assert stored(pid)["displayFormula"] == "A * B"
    bad_input = mp(env, "custom-properties", "create", "--name", "x", "--formula", "A", "--input", "A")
    assert bad_input.returncode == 3 and "LETTER=PROPERTY" in bad_input.stderr

    done = mp(env, "custom-properties", "delete", str(pid))
    assert done.returncode == 0, done.stderr
    assert httpx.get(f"{base}{pid}/", auth=auth).status_code == 404
    missing = mp(env, "custom-properties", "get", str(pid))
    assert missing.returncode == 4 and "Error:" in missing.stderr
