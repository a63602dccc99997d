"""CAP documents carry an enveloped XML signature (CAP 1.2 section 3.3.2) that an
independent library verifies: made with signxml, checked here with xmlsec (the C xmlsec1
library); publication is refused when the CAP cannot be signed, and nothing is sent."""

from __future__ import annotations

import json
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path

import pytest
import xmlschema
import xmlsec
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree

from alerts.render import RenderSettings
from alerts.render import cap
from alerts.render import webhook
from alerts.store import signatures as signature_store
from alerts.store import warnings as store
from alerts.warnings import cap_signatures as cap_signing
from alerts.warnings import workflow
from alerts.warnings.models import Status
from tests.builders import CONFIG
from tests.builders import approve
from tests.builders import submitted
from tests.conftest import acting_as
from tests.conftest import make_app
from tests.delivery_setup import Fakes
from tests.delivery_setup import add_accounts
from tests.render_samples import sample_message

DATA = Path(__file__).parent / "data"
KEY = DATA / "cap-signing-test-key.pem"
CERT = DATA / "cap-signing-test-cert.pem"
DS = "http://www.w3.org/2000/09/xmldsig#"


@pytest.fixture(scope="module")
def schema():
    return xmlschema.XMLSchema(DATA / "CAP-v1.2.xsd")


def verify(document: bytes, cert_pem: bytes) -> None:
    """Verify with xmlsec against the given certificate only; xmlsec.Error if invalid."""
    root = etree.fromstring(document)
    node = xmlsec.tree.find_node(root, xmlsec.constants.NodeSignature)
    context = xmlsec.SignatureContext()
    context.key = xmlsec.Key.from_memory(cert_pem, xmlsec.constants.KeyDataFormatCertPem)
    context.verify(node)


def _pair(key, days=(-1, 30)) -> tuple[bytes, bytes]:
    """Return a PEM key and a self-signed certificate valid ``days`` around now."""
    now = datetime.now(UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + timedelta(days=days[0]))
        .not_valid_after(now + timedelta(days=days[1]))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return key_pem, certificate.public_bytes(serialization.Encoding.PEM)


def _signed_sample(signer: cap_signing.CapSigner) -> str:
    return signer.sign(cap.render(sample_message(), RenderSettings()).parts["xml"])


@pytest.mark.parametrize(
    ("key", "method"),
    [
        (ec.generate_private_key(ec.SECP256R1()), "ecdsa-sha256"),
        (rsa.generate_private_key(public_exponent=65537, key_size=2048), "rsa-sha256"),
    ],
)
def test_signed_cap_verifies_with_xmlsec_and_still_validates(schema, key, method):
    key_pem, cert_pem = _pair(key)
    document = _signed_sample(cap_signing.CapSigner.from_pem(key_pem, cert_pem))
    schema.validate(document)
    verify(document.encode("utf-8"), cert_pem)
    root = etree.fromstring(document.encode("utf-8"))
    signature = root[-1]
    assert signature.tag == f"{{{DS}}}Signature" and signature.prefix is None
    assert signature.find(f".//{{{DS}}}SignatureMethod").get("Algorithm").endswith(method)
    reference = signature.find(f".//{{{DS}}}Reference")
    transforms = [t.get("Algorithm") for t in reference.iter(f"{{{DS}}}Transform")]
    assert reference.get("URI") == "" and transforms == [
        f"{DS}enveloped-signature",
        "http://www.w3.org/2001/10/xml-exc-c14n#",
    ]
    assert document.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<alert ')


def test_one_character_changed_fails_verification():
    key_pem, cert_pem = KEY.read_bytes(), CERT.read_bytes()
    document = _signed_sample(cap_signing.CapSigner.from_pem(key_pem, cert_pem))
    verify(document.encode("utf-8"), cert_pem)
    changed = document.replace("<severity>Severe", "<severity>Severa", 1)
    assert changed != document
    with pytest.raises(xmlsec.Error):
        verify(changed.encode("utf-8"), cert_pem)
    # Nor does it verify against another certificate.
    with pytest.raises(xmlsec.Error):
        verify(document.encode("utf-8"), _pair(ec.generate_private_key(ec.SECP256R1()))[1])


def test_served_cap_verifies_against_the_configured_certificate(db, db_path, schema):
    alert = approve(db, "hanoi.duyet", submitted(db))
    app = make_app(
        db_path,
        SIGNING_KEY=CONFIG["SIGNING_KEY"],
        PUBLIC_URL=CONFIG["PUBLIC_URL"],
        CAP_SIGNING_KEY=KEY.read_text(),  # PEM text here, a file path in CONFIG
        CAP_SIGNING_CERT=str(CERT),
    )
    response = app.test_client().get(f"/a/{alert.code}.cap")
    assert response.status_code == 200 and response.mimetype == "application/cap+xml"
    schema.validate(response.get_data(as_text=True))
    verify(response.data, CERT.read_bytes())
    certificate = etree.fromstring(response.data).find(f".//{{{DS}}}X509Certificate")
    assert "".join(certificate.text.split()) in "".join(CERT.read_text().split())


def test_a_channel_carrying_the_cap_carries_it_signed_when_given_the_signer():
    signer = cap_signing.CapSigner.from_pem(KEY.read_bytes(), CERT.read_bytes())
    settings = RenderSettings(sign_cap=signer.sign)
    body = json.loads(webhook.render(sample_message(), settings).parts["json"])
    verify(body["cap"].encode("utf-8"), CERT.read_bytes())
    assert cap.render(sample_message(), settings).parts["xml"] == body["cap"]


def test_pem_text_may_come_on_one_line():
    one_line = KEY.read_text().strip().replace("\n", "\\n")
    signer = cap_signing.signer_from_settings(
        {"ENV": "production", "CAP_SIGNING_KEY": one_line, "CAP_SIGNING_CERT": str(CERT)}, Path()
    )
    verify(_signed_sample(signer).encode("utf-8"), CERT.read_bytes())


def test_development_signs_with_a_pair_made_once_beside_the_database(tmp_path):
    first = cap_signing.signer_from_settings({"ENV": "development"}, tmp_path)
    again = cap_signing.signer_from_settings({"ENV": "testing"}, tmp_path)
    assert first.certificate == again.certificate
    assert (tmp_path / cap_signing.DEV_KEY_FILE).stat().st_mode & 0o777 == 0o600
    verify(_signed_sample(again).encode("utf-8"), first.certificate_pem.encode("ascii"))


def _expired() -> tuple[str, str]:
    key_pem, cert_pem = _pair(ec.generate_private_key(ec.SECP256R1()), days=(-60, -1))
    return key_pem.decode(), cert_pem.decode()


def _mismatched() -> tuple[str, str]:
    other = _pair(ec.generate_private_key(ec.SECP256R1()))[1]
    return str(KEY), other.decode()


def _small_rsa() -> tuple[str, str]:
    key_pem, cert_pem = _pair(rsa.generate_private_key(public_exponent=65537, key_size=1024))
    return key_pem.decode(), cert_pem.decode()


BROKEN = {
    "missing in production": (lambda: ("", ""), "are not set"),
    "certificate missing": (lambda: (str(KEY), ""), "ALERTS_CAP_SIGNING_CERT is not set"),
    "key not PEM": (lambda: ("-----BEGIN PRIVATE KEY-----\nabc", str(CERT)), "not an unencrypted"),
    "key text with junk before it": (
        lambda: ("x" + KEY.read_text(), str(CERT)),
        "neither PEM text nor the path",
    ),
    "key file absent": (lambda: ("/nonexistent/cap-key.pem", str(CERT)), "cannot read"),
    "certificate not PEM": (lambda: (str(KEY), str(KEY)), "not a PEM X.509 certificate"),
    "key of another certificate": (_mismatched, "does not match"),
    "expired certificate": (_expired, "is not valid now"),
    "short RSA key": (_small_rsa, "2048 bits"),
}


@pytest.mark.parametrize("case", BROKEN)
def test_publication_is_refused_when_the_cap_cannot_be_signed(db, case):
    make, reason = BROKEN[case]
    key, cert = make()
    broken = {**CONFIG, "ENV": "production", "CAP_SIGNING_KEY": key, "CAP_SIGNING_CERT": cert}
    # Hanoi's newsroom webhook (it carries the CAP); no worker runs: queued is what matters.
    add_accounts(db, CONFIG, Fakes("http://127.0.0.1:9", 9, None))
    alert_id = submitted(db, channels=["webhook"])
    alert = store.get_alert(db, alert_id)
    workflow.approve(
        db, acting_as(db, "hanoi.duyet"), alert_id, seen_hash=alert.content_hash, config=broken
    )
    alert = store.get_alert(db, alert_id)
    assert alert.status == Status.APPROVED and alert.code is None
    assert signature_store.get_signature(db, alert_id, "Alert") is None
    assert db.execute("SELECT count(*) FROM deliveries").fetchone()[0] == 0
    refused = db.execute(
        "SELECT detail FROM audit_log WHERE action = 'alert.publish_refused' AND object = ?",
        [f"alert:{alert_id}"],
    ).fetchone()
    assert reason in json.loads(refused[0])["reason"]
    assert "PRIVATE KEY" not in refused[0] and KEY.read_text()[40:80] not in refused[0]
    # With a usable pair the next run publishes it.
    assert workflow.publish_due(db, CONFIG) == [alert_id]
    assert db.execute("SELECT count(*) FROM deliveries").fetchone()[0] > 0


def test_a_cap_that_cannot_be_signed_is_not_served(db, db_path):
    alert = approve(db, "hanoi.duyet", submitted(db))
    app = make_app(db_path, CAP_SIGNING_KEY=str(KEY), CAP_SIGNING_CERT=_mismatched()[1])
    response = app.test_client().get(f"/a/{alert.code}.cap")
    assert response.status_code == 503 and b"<alert" not in response.data


def test_the_newsroom_webhook_the_worker_sends_carries_the_signed_cap(db):
    """End to end: approval, the worker, the fake newsroom; xmlsec checks what it got."""
    from alerts.delivery.engine import Dispatcher
    from tests.delivery_setup import running_fakes

    with running_fakes() as fakes:
        add_accounts(db, CONFIG, fakes)
        approve(db, "hanoi.duyet", submitted(db, channels=["webhook"]))
        engine = Dispatcher(CONFIG)
        try:
            engine.dispatch_due(db)
        finally:
            engine.close()
        [received] = fakes.state.recorded("hooks")
    verify(received.json["cap"].encode("utf-8"), CERT.read_bytes())
