"""A fake SMTP server (aiosmtpd) that records every message and fails when told to.

``FakeSMTP(state)`` runs an aiosmtpd Controller on 127.0.0.1 (port 0 picks a free one) in a
thread, as a context manager. Each message that reaches the end of DATA is recorded in the
shared ``FakeState`` under channel "email": ``headers`` (decoded, lower-case names), ``body``
(the raw message) and ``json`` with the envelope, the decoded From/To/Subject/Message-ID and
the text and HTML parts, the reply given, and the login used if any.

AUTH (PLAIN, LOGIN) is offered without TLS, as on a trusted relay, and any credentials are
accepted unless ``state.extra["email.password"]`` is set. With ``state.extra["email.dsn"]``
the DSN extension (RFC 3461) is offered and its MAIL and RCPT parameters taken (recorded in
``mail_options``, ``rcpt_options``). Addresses in
``state.extra["email.unknown"]`` (a set) get ``550 5.1.1`` at RCPT. Queued failures
(``state.fail("email", ...)``), taken one per connection at EHLO:

- kind="reply", code, text, at ("mail", "rcpt" or "data"; by default "rcpt" for 550, 551 and
  553, else "data"): that reply at that step (421 also closes the connection);
- kind="hang", seconds, at ("data" by default: after the whole message arrived, before the
  reply; the message is recorded, the way a lost reply leaves it delivered);
- kind="auth": AUTH is required and refused with 535, MAIL without it gets 530.

``state.delays["email"]`` slows every end of DATA down. Run for the demo:
``python -m tests.fakes.smtp --port 8026``.

Bounces and complaints (../shared/channels-inbound.md §5, §6): ``dsn(recorded, ...)`` builds
the delivery-status notification a receiving MTA sends back for a message this fake
received (RFC 3464 in a ``multipart/report``, the original's headers as
``text/rfc822-headers``), addressed to its envelope sender (our VERP address); ``arf(recorded,
...)`` builds a feedback-loop complaint about it (RFC 5965) to a feedback address, the
complainant redacted. Both are the raw bytes, made with the standard library's ``email``
package, for a test or the demo to POST to our bounce endpoint as a mail-receiving service
would.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import threading
import time
import weakref
from datetime import UTC
from datetime import datetime
from email import policy
from email.message import Message
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.parser import BytesParser
from email.utils import format_datetime
from email.utils import make_msgid

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP
from aiosmtpd.smtp import AuthResult
from aiosmtpd.smtp import LoginPassword

from tests.fakes.state import FakeState
from tests.fakes.state import Recorded

CHANNEL = "email"
DSN = "email.dsn"  # state.extra flag: offer the DSN extension (RFC 3461) at EHLO
DSN_PARAMETERS = ("RET", "ENVID", "NOTIFY", "ORCPT")
UNKNOWN = "email.unknown"
PASSWORD = "email.password"
HOSTNAME = "smtp.fake.test"


class FakeSMTP:
    """The fake SMTP server in a thread; ``host`` and ``port`` say where it listens."""

    def __init__(self, state: FakeState | None = None, port: int = 0, host: str = "127.0.0.1"):
        self.state = state if state is not None else FakeState()
        self.host = host
        self.handler = _Handler(self.state)
        self.running = False
        self.controller = _Controller(
            self.handler,
            hostname=host,
            port=port,
            server_hostname=HOSTNAME,
            authenticator=self.handler.authenticate,
            auth_require_tls=False,
        )

    @property
    def port(self) -> int:
        return self.controller.port

    def start(self) -> FakeSMTP:
        self.controller.start()
        self.running = True
        return self

    def stop(self) -> None:
        """Close open sessions and finish their tasks, then stop the loop and its thread (a
        clean stop: no "unclosed transport" or pending-task warnings)."""
        if not self.running:
            return
        self.running = False
        closing = self.controller.close_sessions()
        asyncio.run_coroutine_threadsafe(closing, self.controller.loop).result(10)
        self.controller.stop()

    def __enter__(self) -> FakeSMTP:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class _Controller(Controller):
    """A Controller that works with port 0 and can close its sessions before stopping."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.sessions: weakref.WeakSet[SMTP] = weakref.WeakSet()  # the demo runs for days

    def factory(self) -> SMTP:
        server = _DsnSMTP(self.handler, **self.SMTP_kwargs)
        self.sessions.add(server)
        return server

    def _trigger_server(self):
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()

    async def close_sessions(self) -> None:
        for server in list(self.sessions):
            if server.transport is not None:
                server.transport.close()
        current = asyncio.current_task()
        tasks = [t for t in asyncio.all_tasks() if t is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.sleep(0)  # let the transports' connection_lost callbacks run


class _DsnSMTP(SMTP):
    """aiosmtpd's server, taking the DSN parameters of MAIL and RCPT (RFC 3461) when the
    fake offers the extension (aiosmtpd itself refuses every parameter it does not know)."""

    def _getparams(self, params):
        found = super()._getparams(params)
        if found is not None and self.event_handler.state.extra.get(DSN):
            for name in DSN_PARAMETERS:
                found.pop(name, None)
        return found


class _Handler:
    """aiosmtpd hooks: queued failures, unknown mailboxes, and the recording of messages."""

    def __init__(self, state: FakeState):
        self.state = state

    def _begin(self, session) -> None:
        if not hasattr(session, "failure"):
            session.failure = self.state.next_failure(CHANNEL) or {}

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self._begin(session)
        session.host_name = hostname
        if self.state.extra.get(DSN):
            responses.insert(-1, "250-DSN")
        return responses

    async def handle_HELO(self, server, session, envelope, hostname):
        self._begin(session)
        session.host_name = hostname
        return f"250 {server.hostname}"

    def authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        if getattr(session, "failure", {}).get("kind") == "auth":
            return AuthResult(success=False, handled=False)
        wanted = self.state.extra.get(PASSWORD)
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        if wanted is not None and auth_data.password.decode("utf-8", "replace") != wanted:
            return AuthResult(success=False, handled=False)
        return AuthResult(success=True, auth_data=auth_data.login.decode("utf-8", "replace"))

    async def handle_MAIL(self, server, session, envelope, address, options):
        if session.failure.get("kind") == "auth" and not session.authenticated:
            return "530 5.7.0 Authentication required"
        reply = await self._failure(server, session, "mail")
        if reply:
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, options):
        reply = await self._failure(server, session, "rcpt")
        if reply:
            return reply
        with self.state.lock:
            unknown = {a.lower() for a in self.state.extra.get(UNKNOWN, ())}
        if address.lower() in unknown:
            return "550 5.1.1 The email account that you tried to reach does not exist"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        failure = session.failure
        reply = "250 2.0.0 OK: queued"
        if failure.get("kind") == "reply" and _step(failure) == "data":
            reply = _reply(failure)
        self.state.record(_recorded(session, envelope, reply))
        delay = self.state.delays.get(CHANNEL)
        if delay:
            await asyncio.sleep(delay)
        if failure.get("kind") == "hang" and failure.get("at", "data") == "data":
            await asyncio.sleep(float(failure.get("seconds", 30)))
        if reply.startswith("421"):
            asyncio.get_running_loop().call_soon(server.transport.close)
        return reply

    async def _failure(self, server, session, step: str) -> str | None:
        failure = session.failure
        if failure.get("kind") == "hang" and failure.get("at") == step:
            await asyncio.sleep(float(failure.get("seconds", 30)))
        if failure.get("kind") != "reply" or _step(failure) != step:
            return None
        reply = _reply(failure)
        if reply.startswith("421"):
            asyncio.get_running_loop().call_soon(server.transport.close)
        return reply


def _step(failure: dict) -> str:
    return failure.get("at") or (
        "rcpt" if int(failure.get("code", 451)) in (550, 551, 553) else "data"
    )


def _reply(failure: dict) -> str:
    return f"{int(failure.get('code', 451))} {failure.get('text', 'Requested action aborted')}"


def _recorded(session, envelope, reply: str) -> Recorded:
    raw = envelope.original_content or b""
    message = BytesParser(policy=policy.default).parsebytes(raw)
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    return Recorded(
        CHANNEL,
        "DATA",
        "/" + ",".join(envelope.rcpt_tos),
        {name.lower(): str(value) for name, value in message.items()},
        raw,
        {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "mail_options": list(envelope.mail_options),
            "rcpt_options": list(envelope.rcpt_options),
            "login": session.auth_data if session.authenticated else None,
            "from": str(message["from"]),
            "to": str(message["to"]),
            "subject": str(message["subject"]),
            "message_id": str(message["message-id"]),
            "text": _content(text),
            "html": _content(html),
            "reply": reply,
        },
        time.time(),
    )


def _content(part) -> str | None:
    """Return a text part decoded, with the canonical CRLF line ends turned into newlines."""
    return None if part is None else part.get_content().replace("\r\n", "\n")


def _original_headers(recorded: Recorded) -> str:
    """The returned message's headers as a receiving MTA has them (Return-Path added)."""
    message = BytesParser(policy=policy.compat32).parsebytes(recorded.body, headersonly=True)
    lines = [f"Return-Path: <{recorded.json['mail_from']}>"]
    lines += [f"{name}: {value}" for name, value in message.items()]
    return "\n".join(lines) + "\n"


def _report(kind: str, to: str, subject: str, human: str) -> MIMEMultipart:
    report = MIMEMultipart("report", report_type=kind)
    report["From"] = f"MAILER-DAEMON@{HOSTNAME}"
    report["To"] = to
    report["Subject"] = subject
    report["Date"] = format_datetime(datetime.now(UTC))
    report["Message-ID"] = make_msgid(domain=HOSTNAME)
    report.attach(MIMEText(human, "plain", "utf-8"))
    return report


def dsn(
    recorded: Recorded,
    *,
    action: str = "failed",
    status: str = "5.1.1",
    diagnostic: str = "smtp; 550 5.1.1 The email account that you tried to reach does not exist",
) -> bytes:
    """Return the DSN for a message this fake received (one recipient, its first)."""
    rcpt = recorded.json["rcpt_tos"][0]
    report = _report(
        "delivery-status",
        recorded.json["mail_from"],
        "Undelivered Mail Returned to Sender" if action == "failed" else "Delivery delayed",
        f"Your message to {rcpt} could not be delivered ({status}).",
    )
    per_message, per_recipient = Message(), Message()
    per_message["Reporting-MTA"] = f"dns; {HOSTNAME}"
    envelope_id = [o for o in recorded.json["mail_options"] if o.startswith("ENVID=")]
    if envelope_id:  # the sender asked for DSNs with its ENVID (RFC 3461): it comes back
        per_message["Original-Envelope-Id"] = envelope_id[0].partition("=")[2]
    per_message["Arrival-Date"] = format_datetime(datetime.now(UTC))
    per_recipient["Final-Recipient"] = f"rfc822;{rcpt}"
    per_recipient["Action"] = action
    per_recipient["Status"] = status
    per_recipient["Diagnostic-Code"] = diagnostic
    status_part = MIMEBase("message", "delivery-status")
    status_part.set_payload([per_message, per_recipient])
    report.attach(status_part)
    report.attach(MIMEText(_original_headers(recorded), "rfc822-headers", "us-ascii"))
    return report.as_bytes()


def arf(recorded: Recorded, *, feedback_type: str = "abuse", to: str = "fbl@example.vn") -> bytes:
    """Return a feedback-loop complaint about a message this fake received, the
    complainant's address redacted as providers do."""
    report = _report(
        "feedback-report", to, "Complaint about message", "A user marked this message as spam."
    )
    fields = MIMEBase("message", "feedback-report")
    fields.set_payload(
        f"Feedback-Type: {feedback_type}\nUser-Agent: FakeFBL/1.0\nVersion: 1\n"
        f"Original-Rcpt-To: redacted@{recorded.json['rcpt_tos'][0].partition('@')[2]}\n"
    )
    report.attach(fields)
    report.attach(MIMEText(_original_headers(recorded), "rfc822-headers", "us-ascii"))
    return report.as_bytes()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8026)
    port = parser.parse_args().port
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    with FakeSMTP(port=port) as server:
        print(f"Fake SMTP server on {server.host}:{server.port}", flush=True)
        try:
            stopping.wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
