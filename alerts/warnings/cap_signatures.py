"""Enveloped XML signatures (XML-DSig) on the CAP documents we publish.

CAP 1.2 section 3.3.2 lets an ``<alert>`` carry an enveloped XML signature as its last
child (the OASIS schema, ``tests/data/CAP-v1.2.xsd``, allows any element of the xmldsig
namespace there), and CAP consumers check it against the sender's X.509 certificate.
CAP documents are signed here (the CAP renderer applies ``CapSigner.sign`` when
given it as ``RenderSettings.sign_cap``): ``Reference URI=""`` with the
enveloped-signature transform and exclusive c14n, RSA-SHA256 or ECDSA-SHA256 after the
key, and the certificate in ``KeyInfo/X509Data``. The signature covers the document
exactly as it is returned, so what is signed is what is served.

The key (PEM, RSA of 2048 bits or more, or ECDSA) and its certificate (PEM X.509) are in
``ALERTS_CAP_SIGNING_KEY`` and ``ALERTS_CAP_SIGNING_CERT``, as PEM text or as the path of
a PEM file. Development and tests use a P-256 key and a self-signed certificate made once
in the instance folder, so ``scripts/run`` works without setup; production refuses to sign
without both, and publication is then refused (``alerts.warnings.publication.Unsigned``). A key
that does not match its certificate, or a certificate outside its validity period, is
refused too. Pure: no Flask, no database. Secrets are never put in an error message.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml import CanonicalizationMethod
from signxml import DigestAlgorithm
from signxml import SignatureMethod
from signxml import XMLSigner
from signxml import methods
from signxml import namespaces
from signxml.exceptions import SignXMLException

DEV_KEY_FILE = "cap-signing-key.pem"
DEV_CERT_FILE = "cap-signing-cert.pem"
DEV_CERT_DAYS = 3650
MIN_RSA_BITS = 2048
_PEM_BEGIN = "-----BEGIN "
XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'


class CapSigningError(ValueError):
    """The CAP signing key or certificate is missing or unusable; the message says why."""


def _pem(value: str, setting: str) -> bytes:
    """Return the PEM bytes of a setting holding PEM text or the path of a PEM file.

    PEM text may come on one line with ``\\n`` for its line breaks (as some deployment
    tools pass multi-line values). Only a value that looks like a path is ever quoted in an
    error: anything else may be key material.
    """
    text = value.strip()
    if text.startswith(_PEM_BEGIN):
        return text.replace("\\n", "\n").encode("ascii", "replace")
    if "-----" in text or "\n" in text or len(text) > 1024:
        raise CapSigningError(f"{setting} is neither PEM text nor the path of a PEM file")
    try:
        return Path(text).read_bytes()
    except OSError as error:
        # The value is a path here, not a secret: naming it helps the operator.
        raise CapSigningError(f"{setting}: cannot read {text!r}: {error.strerror}") from None


def load_key(pem: bytes, setting: str = "ALERTS_CAP_SIGNING_KEY"):
    """Return the private key of a PEM; CapSigningError unless it is RSA (2048+) or EC."""
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        # The library's message may quote the input: never repeat it.
        raise CapSigningError(f"{setting} is not an unencrypted PEM private key") from None
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < MIN_RSA_BITS:
            raise CapSigningError(f"{setting}: an RSA key needs {MIN_RSA_BITS} bits or more")
        return key
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key
    raise CapSigningError(f"{setting} must be an RSA or ECDSA key")


def load_certificate(pem: bytes, setting: str = "ALERTS_CAP_SIGNING_CERT") -> x509.Certificate:
    """Return the X.509 certificate of a PEM; CapSigningError if it is not one."""
    try:
        return x509.load_pem_x509_certificate(pem)
    except ValueError:
        raise CapSigningError(f"{setting} is not a PEM X.509 certificate") from None


def _check_pair(key, certificate: x509.Certificate, now: datetime) -> None:
    """Refuse a key that is not the certificate's, or a certificate not valid ``now``."""
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    if key.public_key().public_bytes(der, public) != certificate.public_key().public_bytes(
        der, public
    ):
        raise CapSigningError(
            "ALERTS_CAP_SIGNING_KEY does not match the public key of ALERTS_CAP_SIGNING_CERT"
        )
    if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
        raise CapSigningError(
            "ALERTS_CAP_SIGNING_CERT is not valid now (valid from "
            f"{certificate.not_valid_before_utc:%Y-%m-%d} to "
            f"{certificate.not_valid_after_utc:%Y-%m-%d})"
        )


@dataclass(frozen=True)
class CapSigner:
    """A checked key and certificate pair that signs CAP documents."""

    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    certificate: x509.Certificate

    @classmethod
    def from_pem(cls, key_pem: bytes, cert_pem: bytes, now: datetime | None = None) -> CapSigner:
        """Return a signer for a PEM key and certificate; CapSigningError if unusable."""
        key = load_key(key_pem)
        certificate = load_certificate(cert_pem)
        _check_pair(key, certificate, now or datetime.now(UTC))
        return cls(key, certificate)

    @property
    def certificate_pem(self) -> str:
        """The certificate in PEM, as consumers are given it to verify."""
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")

    def sign(self, xml: str) -> str:
        """Return the CAP document with its enveloped signature as the last child of alert.

        The result starts with the renderer's XML declaration; the signature covers the
        document's exact content, so it is sent as returned (UTF-8), never re-serialised.
        """
        root = etree.fromstring(xml.encode("utf-8"), parser=_parser())
        rsa_key = isinstance(self.key, rsa.RSAPrivateKey)
        signer = XMLSigner(
            method=methods.enveloped,
            signature_algorithm=SignatureMethod.RSA_SHA256
            if rsa_key
            else SignatureMethod.ECDSA_SHA256,
            digest_algorithm=DigestAlgorithm.SHA256,
            c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
        )
        signer.namespaces = {None: namespaces.ds}
        try:
            signed = signer.sign(root, key=self.key, cert=[self.certificate_pem])
        except SignXMLException as error:
            raise CapSigningError(f"the CAP document could not be signed: {error}") from None
        return XML_DECLARATION + etree.tostring(signed, encoding="unicode")


def _parser() -> etree.XMLParser:
    """An XML parser that loads nothing from outside and expands no entities."""
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def new_dev_pair(now: datetime | None = None) -> tuple[bytes, bytes]:
    """Return a fresh P-256 key and a self-signed certificate for it, both in PEM."""
    now = now or datetime.now(UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "alerts development CAP signing"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "development only"),
        ]
    )
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=DEV_CERT_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return key_pem, certificate.public_bytes(serialization.Encoding.PEM)


def dev_pair(folder: Path) -> tuple[bytes, bytes]:
    """Return the development key and certificate kept in ``folder``, made the first time.

    The key file is created with mode 0600 and exclusively, so two processes starting at
    once cannot each write their own; the certificate is written beside it.
    """
    folder.mkdir(parents=True, exist_ok=True)
    key_path, cert_path = folder / DEV_KEY_FILE, folder / DEV_CERT_FILE
    key_pem, cert_pem = new_dev_pair()
    try:
        descriptor = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return key_path.read_bytes(), cert_path.read_bytes()
    with os.fdopen(descriptor, "wb") as f:
        f.write(key_pem)
    cert_path.write_bytes(cert_pem)
    return key_pem, cert_pem


def signer_for(config: Mapping) -> CapSigner:
    """Return this deployment's CAP signer; in development the pair beside the database."""
    return signer_from_settings(config, Path(config["DATABASE"]).parent)


def signer_from_settings(settings: Mapping, instance_path: Path) -> CapSigner:
    """Return the CAP signer the settings call for; CapSigningError when there is none.

    ALERTS_CAP_SIGNING_KEY and ALERTS_CAP_SIGNING_CERT when set (both are needed); otherwise,
    in development and testing, the pair kept in the instance folder (made on first use);
    in production a missing pair is refused, as a certificate made on the fly is one no
    consumer could have been given ahead of time.
    """
    key = settings.get("CAP_SIGNING_KEY") or ""
    cert = settings.get("CAP_SIGNING_CERT") or ""
    if key or cert:
        if not (key and cert):
            missing = "ALERTS_CAP_SIGNING_CERT" if key else "ALERTS_CAP_SIGNING_KEY"
            raise CapSigningError(
                f"{missing} is not set: the CAP signing key needs its certificate"
            )
        return CapSigner.from_pem(
            _pem(key, "ALERTS_CAP_SIGNING_KEY"), _pem(cert, "ALERTS_CAP_SIGNING_CERT")
        )
    if settings.get("ENV") == "production":
        raise CapSigningError(
            "ALERTS_CAP_SIGNING_KEY and ALERTS_CAP_SIGNING_CERT are not set: production signs "
            "every CAP document (XML-DSig) and publishes nothing unsigned"
        )
    return CapSigner.from_pem(*dev_pair(Path(instance_path)))
