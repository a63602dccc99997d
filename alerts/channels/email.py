"""Email to residents over SMTP (RFC 5321): one multipart/alternative message per address.

The message is built with the standard library: plain text first, HTML last, the Vietnamese
subject and sender name as RFC 2047 encoded-words, bodies in base64 or quoted-printable (7-bit
clean, so no 8BITMIME is needed), and RFC 8058's List-Unsubscribe pair kept on one line
(folding has broken DKIM). The Message-ID is derived from the delivery's idempotency key, so
a resend after an unknown outcome carries the same id and can be recognised.

One connection per message, step by step (EHLO, STARTTLS, AUTH, MAIL, RCPT, DATA), so every
reply is classified where it happened (5a.3): a 5xx to MAIL means our account is refused, to
RCPT that this address is, after the data that this content is. Only a lost reply after the
whole message was sent is UNKNOWN (the server may have accepted it). Account settings:
"host", "port" (25, or 587 with STARTTLS), "starttls" ("1"), "from", "username" (the From
address by default), "timeout" (seconds, 10), "helo" (the sender's domain by default);
secret: "password" (AUTH only when set; never logged or shown).

Bounces (channels-inbound.md §5.4): with the secret "bounce_key" set, each message goes out
with its own envelope sender (VERP), ``bounce+<digest>.<mac>@<bounce domain>``, where
``<digest>`` is the Message-ID's own (no address in it) and ``<mac>`` an HMAC of it under
the key; the same token is in the ``X-Alerts-Delivery`` header (a complaint's report
carries the headers back) and, where the server offers DSN (RFC 3461), in ``ENVID`` with
``RET=HDRS``. A bounce to any other address proves nothing and is ignored
(``alerts.inbound.email``). Setting "bounce_domain" (the sender's domain by default).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import smtplib
import ssl
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from dataclasses import field
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import format_datetime

from alerts import clock
from alerts.channels import Account
from alerts.channels import Item
from alerts.channels import Outcome
from alerts.channels import Reaction
from alerts.render.common import VIETNAM

# The SMTP transactions' threads: as many as the email policy's slots (alerts/delivery/policy.py).
_SMTP = ThreadPoolExecutor(max_workers=8, thread_name_prefix="smtp")

CHANNEL = "email"
DEFAULT_TIMEOUT = 10.0
_ONE_LINE = {"list-unsubscribe", "list-unsubscribe-post"}
TOKEN_HEADER = "X-Alerts-Delivery"  # our VERP token, read back from a complaint
_OURS = {"from", "to", "cc", "bcc", "subject", "date", "message-id", "mime-version", "sender"} | {
    TOKEN_HEADER.lower()
}
_HEADER_NAME = re.compile(r"[!-9;-~]+")
_ENHANCED = re.compile(r"([245])\.(\d{1,3})\.(\d{1,3})\b")
_SETUP = ("connect", "hello", "starttls", "login", "mail")
_LINE = 78  # RFC 5322 2.1.1: header lines SHOULD be no longer than this
# A VERP address, or the token as a report carries it back (our header, the DSN's ENVID).
_VERP = re.compile(
    r"(?:bounce\+|X-Alerts-Delivery:\s*|Original-Envelope-Id:\s*)"
    r"([0-9a-f]{32})\.([0-9a-f]{16})\b",
    re.IGNORECASE,
)
_WORDS = (
    76  # the lines email.header.Header writes: " " and an encoded-word of at most 75 (RFC 2047)
)


class _Policy(EmailPolicy):
    """SMTP line ends, 7-bit bodies, the RFC 8058 headers never folded nor encoded, and a
    Vietnamese Subject or sender name encoded so that it decodes back exactly.

    Python 3.11's folder puts the space between two non-ASCII words outside the encoded-words
    when a fold falls there, and RFC 2047 (6.2) tells readers to drop the white space between
    encoded-words, so "tiền ảo" arrived as "tiềnảo" (CPython gh-92081, "BytesGenerator breaks
    UTF8 string"; its fix, gh-92281, is in 3.12.5 and 3.13 only, and was itself amended by
    gh-144156). email.header.Header encodes the whole text, spaces included, and only splits
    between encoded-words, so nothing a standard reader drops was ever text.
    """

    def fold(self, name, value):
        return self._fixed(name, value) or super().fold(name, value)

    def fold_binary(self, name, value):
        fixed = self._fixed(name, value)
        return fixed.encode("ascii") if fixed else super().fold_binary(name, value)

    def _fixed(self, name: str, value) -> str:
        """Return the whole header as this channel writes it, or "" to leave it to the policy."""
        key = name.lower()
        if key in _ONE_LINE and str(value).isascii():
            return f"{name}: {value}{self.linesep}"
        if key == "subject" and not str(value).isascii():
            words = Header(str(value), "utf-8", _WORDS, header_name=name)
            return f"{name}: {words.encode(linesep=self.linesep)}{self.linesep}"
        addresses = getattr(value, "addresses", ())
        if key == "from" and len(addresses) == 1:
            return self._sender(name, addresses[0])
        return ""

    def _sender(self, name: str, address: Address) -> str:
        """Return 'From:' with a non-ASCII display name as encoded-words, each on a line of its
        own so the first is as long as the others: one word holds a name of about 30 letters.

        A longer name needs several, and Python 3.11's own parser (policy.default) then reads
        a space between them (CPython gh-128110; RFC 2047 6.2 says to ignore it, as the
        decoder in email.header does): that is the reader's bug, not a lost space.
        """
        if address.display_name.isascii():
            return ""
        words = Header(address.display_name, "utf-8", _WORDS - 1).encode(linesep=self.linesep)
        last = words.rsplit(self.linesep, 1)[-1]
        gap = " " if len(last) + len(address.addr_spec) + 4 <= _LINE else self.linesep + " "
        return f"{name}:{self.linesep} {words}{gap}<{address.addr_spec}>{self.linesep}"


POLICY = _Policy(linesep="\r\n", cte_type="7bit")


@dataclass(frozen=True)
class Config:
    """Where and how to submit mail, from an account's settings and secrets."""

    host: str
    port: int
    starttls: bool
    sender: Address
    username: str
    timeout: float
    helo: str
    bounce_domain: str = ""
    password: str = field(default="", repr=False)
    bounce_key: str = field(default="", repr=False)


def config(account: Account) -> Config:
    """Return the SMTP configuration of an account; ValueError names what is wrong."""
    settings = account.settings
    host = settings.get("host", "").strip()
    if not host:
        raise ValueError("settings: no SMTP host")
    starttls = settings.get("starttls") == "1"
    try:
        port = int(settings.get("port") or (587 if starttls else 25))
        timeout = float(settings.get("timeout") or DEFAULT_TIMEOUT)
    except ValueError:
        raise ValueError("settings: port and timeout must be numbers") from None
    sender = sender_address(settings.get("from", ""))
    return Config(
        host=host,
        port=port,
        starttls=starttls,
        sender=sender,
        username=settings.get("username") or sender.addr_spec,
        timeout=timeout,
        helo=settings.get("helo") or sender.domain,
        bounce_domain=settings.get("bounce_domain") or sender.domain,
        password=account.secrets.get("password", ""),
        bounce_key=account.secrets.get("bounce_key", ""),
    )


def sender_address(value: str) -> Address:
    """Parse 'Name <address>' (the name may hold commas and Vietnamese) into an Address."""
    if re.search(r"[\r\n]", value):
        raise ValueError("settings: 'from' holds a line break")
    match = re.fullmatch(r"\s*(.*?)\s*<([^<>]*)>\s*", value)
    name, addr = (match[1].strip('"').strip(), match[2].strip()) if match else ("", value.strip())
    try:
        address = Address(display_name=name, addr_spec=addr)
    except (ValueError, IndexError):
        raise ValueError("settings: 'from' is not an email address") from None
    if not (address.username and address.domain and addr.isascii()):
        raise ValueError("settings: 'from' needs an ASCII address with a domain")
    return address


def message_id(idempotency_key: str, domain: str) -> str:
    """Return the Message-ID of a delivery: the same for every attempt, and no address in it."""
    return message_id_of(_digest(idempotency_key), domain)


def message_id_of(digest: str, domain: str) -> str:
    """Return the Message-ID whose digest a bounce's VERP token names."""
    return f"<{digest}@{domain}>"


def _digest(idempotency_key: str) -> str:
    return hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:32]


def _mac(key: str, digest: str) -> str:
    return hmac.new(key.encode("utf-8"), digest.encode("ascii"), hashlib.sha256).hexdigest()[:16]


def bounce_token(key: str, idempotency_key: str) -> str:
    """Return a delivery's VERP token: its Message-ID digest and an HMAC of it."""
    digest = _digest(idempotency_key)
    return f"{digest}.{_mac(key, digest)}"


def bounced_digest(key: str, text: str) -> str | None:
    """Return the Message-ID digest of the first VERP address in ``text`` whose HMAC
    verifies under ``key`` (constant time), or None: a forged bounce names none."""
    if not key:
        return None
    for digest, mac in _VERP.findall(text):
        if hmac.compare_digest(mac.lower(), _mac(key, digest.lower())):
            return digest.lower()
    return None


def envelope_sender(config: Config, item: Item) -> str:
    """Return the MAIL FROM of a delivery: its VERP address, or the From address without
    a bounce key."""
    if not config.bounce_key:
        return config.sender.addr_spec
    return f"bounce+{bounce_token(config.bounce_key, item.idempotency_key)}@{config.bounce_domain}"


def build_message(config: Config, item: Item) -> EmailMessage:
    """Return the message for ``item``; ValueError if a header would hold a line break."""
    parts = item.rendering.parts
    headers = {"Subject": parts["subject"], **item.rendering.headers}
    for name, value in headers.items():
        if not _HEADER_NAME.fullmatch(name) or re.search(r"[\r\n]", value):
            raise ValueError(f"header {name[:40]!r} refused: line break or bad name")
        if name.lower() in _OURS and name != "Subject":
            raise ValueError(f"header {name[:40]!r} refused: set by the channel")
    message = EmailMessage(policy=POLICY)
    message["From"] = config.sender
    message["To"] = Address(addr_spec=item.target)
    message["Date"] = format_datetime(clock.utcnow().astimezone(VIETNAM))
    message["Message-ID"] = message_id(item.idempotency_key, config.sender.domain)
    if config.bounce_key:
        message[TOKEN_HEADER] = bounce_token(config.bounce_key, item.idempotency_key)
    for name, value in headers.items():
        message[name] = value
    message.set_content(parts["text"])
    message.add_alternative(parts["html"], subtype="html")
    return message


async def send(http, account: Account, item: Item) -> Outcome:
    """Send one rendering to one resident's address and classify the SMTP replies.

    ``http`` is unused (SMTP, not HTTP): the signature is every channel's. The SMTP
    transaction (smtplib, blocking) runs on a thread of its own pool, so the engine's loop
    keeps going and a hung mail server never takes the threads the loop resolves names on.
    """
    del http
    try:
        settings = config(account)
    except ValueError as exc:
        return Outcome(Reaction.DISABLE_CHANNEL, str(exc))
    refused = _refuse_target(item.target)
    if refused is not None:
        return refused
    try:
        message = build_message(settings, item)
        raw = message.as_bytes()
    except (KeyError, ValueError, UnicodeError) as exc:
        return Outcome(Reaction.GIVE_UP, f"message refused: {exc}"[:200])
    msg_id = str(message["Message-ID"])
    loop = asyncio.get_running_loop()
    envelope = envelope_sender(settings, item)
    return await loop.run_in_executor(
        _SMTP, _transmit, settings, raw, (envelope, item.target), msg_id
    )


def _refuse_target(target: str) -> Outcome | None:
    if target == "broadcast":
        return Outcome(Reaction.GIVE_UP, "email goes to residents' addresses, not 'broadcast'")
    if re.search(r"[\r\n]", target):
        return Outcome(Reaction.GIVE_UP, "the address holds a line break")
    if not target.isascii():
        return Outcome(Reaction.GIVE_UP, "internationalised addresses (SMTPUTF8) not supported")
    try:
        address = Address(addr_spec=target)
    except (ValueError, IndexError):
        address = None
    if address is None or not (address.username and address.domain):
        return Outcome(Reaction.DISABLE_SUBSCRIBER, "not an email address")
    return None


def _transmit(config: Config, raw: bytes, envelope: tuple[str, str], msg_id: str) -> Outcome:
    """Run one SMTP transaction (``envelope``: MAIL FROM and RCPT TO); ``stage`` says how
    far it got when something failed."""
    sender, target = envelope
    smtp = smtplib.SMTP(local_hostname=config.helo, timeout=config.timeout)
    stage = "connect"
    try:
        code, reply = smtp.connect(config.host, config.port)
        if code != 220:
            return classify(code, reply, stage)
        stage = "hello"
        smtp.ehlo_or_helo_if_needed()
        if config.starttls:
            stage = "starttls"
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
        if config.password:
            stage = "login"
            smtp.login(config.username, config.password)
        stage = "mail"
        dsn = bool(config.bounce_key) and smtp.has_extn("dsn")
        token = sender.partition("+")[2].partition("@")[0]
        code, reply = smtp.mail(sender, ["RET=HDRS", f"ENVID={token}"] if dsn else [])
        if code != 250:
            return classify(code, reply, stage)
        stage = "rcpt"
        code, reply = smtp.rcpt(target, ["NOTIFY=FAILURE,DELAY"] if dsn else [])
        if code not in (250, 251):
            return classify(code, reply, stage)
        stage = "data"
        code, reply = smtp.docmd("DATA")
        if code != 354:
            return classify(code, reply, stage)
        smtp.send(_dot_stuffed(raw))
        stage = "sent"  # from here on the server has the whole message
        code, reply = smtp.getreply()
        if code == 250:
            return Outcome(Reaction.OK, f"250 {_text(reply)}"[:200], provider_id=msg_id)
        return classify(code, reply, "data")
    except smtplib.SMTPNotSupportedError:
        missing = "STARTTLS" if stage == "starttls" else "AUTH"
        return Outcome(Reaction.DISABLE_CHANNEL, f"the server does not offer {missing}")
    except smtplib.SMTPResponseException as exc:
        return classify(exc.smtp_code, exc.smtp_error, stage)
    except smtplib.SMTPServerDisconnected as exc:
        return _lost(exc, stage)
    except smtplib.SMTPException as exc:  # e.g. no AUTH mechanism in common
        if stage == "login":
            return Outcome(Reaction.DISABLE_CHANNEL, f"LOGIN: {exc}"[:200])
        return _lost(exc, stage)
    except OSError as exc:  # refused, timed out, reset, TLS failure
        return _lost(exc, stage)
    finally:
        _quit(smtp)


def classify(code: int, reply: bytes | str, stage: str) -> Outcome:
    """Map an SMTP reply at a stage ("connect", "hello", "starttls", "login", "mail", "rcpt",
    "data") to a reaction (reply codes: https://www.rfc-editor.org/rfc/rfc5321#section-4.2,
    enhanced codes: https://www.rfc-editor.org/rfc/rfc3463)."""
    text = _text(reply)
    detail = f"{stage.upper()}: {code} {text}"[:200]
    status = _ENHANCED.match(text)
    if code in (530, 534, 535, 538):
        return Outcome(Reaction.DISABLE_CHANNEL, detail)
    if not 400 <= code < 600:
        return Outcome(Reaction.RETRY_BACKOFF, f"unexpected reply, {detail}"[:200])
    if code < 500:
        return Outcome(Reaction.RETRY_BACKOFF, detail)
    if stage == "mail" and code == 552:
        return Outcome(Reaction.GIVE_UP, detail)  # too big for this server
    if stage in _SETUP:
        return Outcome(Reaction.DISABLE_CHANNEL, detail)  # our account or sender is refused
    policy = status is not None and status[2] == "7"
    if stage == "rcpt" and code in (550, 551, 553) and not policy:
        return Outcome(Reaction.DISABLE_SUBSCRIBER, detail)
    if code in (550, 551, 553) and status is not None and status[2] in ("1", "2"):
        return Outcome(Reaction.DISABLE_SUBSCRIBER, detail)  # refused after the data
    return Outcome(Reaction.GIVE_UP, detail)


def _lost(exc: OSError, stage: str) -> Outcome:
    reason = str(exc) or type(exc).__name__
    if isinstance(exc, ConnectionRefusedError):
        reason = "connection refused"
    if stage == "sent":
        detail = (
            f"no reply after the message was sent ({reason}): it may have been delivered;"
            " a resend carries the same Message-ID"
        )
        return Outcome(Reaction.UNKNOWN, detail[:240])
    return Outcome(Reaction.RETRY_BACKOFF, f"{stage.upper()}: {reason}"[:200])


def _dot_stuffed(raw: bytes) -> bytes:
    """Return the DATA payload: leading dots doubled, CRLF-terminated, then the lone dot."""
    body = re.sub(rb"(?m)^\.", b"..", raw)
    if not body.endswith(b"\r\n"):
        body += b"\r\n"
    return body + b".\r\n"


def _text(reply: bytes | str) -> str:
    if isinstance(reply, bytes):
        reply = reply.decode("utf-8", "replace")
    return " ".join(reply.split())[:160]


def _quit(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except OSError:
        smtp.close()
