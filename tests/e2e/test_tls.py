"""`mixhouse serve --tls-cert/--tls-key` serves HTTPS; the official SDK trusts it through the environment."""

from __future__ import annotations

import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import trustme
from mixpanel import Consumer, Mixpanel

from tests.conftest import make_project
from tests.support.readback import export
from tests.support.server import ServerProcess


def test_https_with_self_signed_certificate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert_file, key_file, ca_file = tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "ca.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))
    ca.cert_pem.write_to_path(str(ca_file))

    server = ServerProcess(data_dir=tmp_path / "data", scheme="https",
                           extra_args=("--tls-cert", str(cert_file), "--tls-key", str(key_file)))
    trusted = ssl.create_default_context(cafile=str(ca_file))
    server.start(verify=trusted)
    try:
        creds = make_project(server.data_dir, "tls")
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca_file))
        base = server.url
        mp = Mixpanel(creds.token, consumer=Consumer(events_url=f"{base}/track", people_url=f"{base}/engage"))
        mp.track("secure-user", "Over TLS")
        # an idle TLS keep-alive connection holds uvicorn's graceful shutdown for asyncio's 30 s SSL-close timeout
        mp._consumer._session.close()
        with httpx.Client(base_url=base, verify=trusted) as client:
            today = datetime.now(UTC).date()
            events = export(client, creds, from_date=(today - timedelta(days=1)).isoformat(), to_date=today.isoformat())
        assert [(e["event"], e["properties"]["distinct_id"]) for e in events] == [("Over TLS", "secure-user")]
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{base}/healthz")  # not trusted without the CA
    finally:
        server.stop()
    assert "listening on https://127.0.0.1" in server.log()
