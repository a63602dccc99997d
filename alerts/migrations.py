"""Versioned schema migrations, applied by `flask --app alerts init-db` and checked at start.

Each migration is a function registered on ``migrations``; sqlite-utils records it in
``_sqlite_migrations`` once applied. Never edit an applied migration: add a new one.
"""

from __future__ import annotations

import sqlite3

import sqlite_utils
from sqlite_utils.migrations import Migrations

from alerts import db as dbmod

migrations = Migrations("alerts")


def _run(db: sqlite_utils.Database, script: str) -> None:
    """Execute a script statement by statement.

    sqlite3's executescript() commits any open transaction first, which would break the
    atomicity of a migration; complete_statement() splits correctly around trigger bodies.
    """
    statement = ""
    for line in script.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            db.execute(statement)
            statement = ""
    if statement.strip():
        raise ValueError(f"incomplete SQL statement in migration: {statement.strip()[:60]}")


@migrations()
def m001_regions_units(db: sqlite_utils.Database) -> None:
    """The 2025 map, the police units bound to it, and a key/value table for metadata."""
    _run(
        db,
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE regions (
            code TEXT PRIMARY KEY,
            level TEXT NOT NULL CHECK (level IN ('nation', 'province', 'commune')),
            name TEXT NOT NULL,
            name_folded TEXT NOT NULL,
            division_type TEXT NOT NULL,
            parent_code TEXT REFERENCES regions(code)
        );
        CREATE INDEX regions_parent ON regions(parent_code);
        CREATE TABLE units (
            id INTEGER PRIMARY KEY,
            code TEXT NOT NULL UNIQUE,
            name TEXT NOT NULL,
            name_folded TEXT NOT NULL,
            level TEXT NOT NULL CHECK (level IN ('nation', 'province', 'commune')),
            region_code TEXT NOT NULL UNIQUE REFERENCES regions(code),
            parent_id INTEGER REFERENCES units(id)
        );
        CREATE INDEX units_parent ON units(parent_id);
        """,
    )


@migrations()
def m002_users_sessions(db: sqlite_utils.Database) -> None:
    """Users with roles, server-side sessions, and sign-in throttling shared by processes."""
    _run(
        db,
        """
        CREATE TABLE users (
            id INTEGER PRIMARY KEY,
            username TEXT NOT NULL UNIQUE,
            full_name TEXT NOT NULL,
            unit_id INTEGER NOT NULL REFERENCES units(id),
            password_hash TEXT NOT NULL,
            totp_secret TEXT,
            totp_enabled INTEGER NOT NULL DEFAULT 0,
            totp_last_step INTEGER NOT NULL DEFAULT 0,
            active INTEGER NOT NULL DEFAULT 1,
            is_demo INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX users_unit ON users(unit_id);
        CREATE TABLE user_roles (
            user_id INTEGER NOT NULL REFERENCES users(id),
            role TEXT NOT NULL CHECK (role IN ('officer', 'approver', 'admin')),
            PRIMARY KEY (user_id, role)
        );
        CREATE TABLE sessions (
            token_hash TEXT PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users(id),
            created_at TEXT NOT NULL,
            last_seen_at TEXT NOT NULL,
            revoked_at TEXT
        );
        CREATE INDEX sessions_user ON sessions(user_id);
        CREATE TABLE signin_throttle (
            key TEXT PRIMARY KEY,
            failures INTEGER NOT NULL,
            window_started_at TEXT NOT NULL,
            blocked_until TEXT
        );
        """,
    )


@migrations()
def m003_audit_log(db: sqlite_utils.Database) -> None:
    """Append-only, hash-chained audit log: triggers refuse every UPDATE and DELETE."""
    _run(
        db,
        """
        CREATE TABLE audit_log (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at TEXT NOT NULL,
            actor TEXT NOT NULL,
            actor_unit TEXT,
            action TEXT NOT NULL,
            object TEXT,
            detail TEXT NOT NULL,
            ip TEXT,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL
        );
        CREATE INDEX audit_action ON audit_log(action);
        CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
        CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
        """,
    )


@migrations()
def m004_warnings(db: sqlite_utils.Database) -> None:
    """Warnings and their revisions, targets, scam indicators, snapshots, images, templates
    and API tokens; audit entries indexed by object for each warning's timeline.

    One row per revision (CAP message); ``series_id`` groups the revisions of one warning.
    ``editors`` records everyone who wrote a revision's content (none of them may approve it).
    """
    _run(
        db,
        """
        CREATE TABLE images (
            sha256 TEXT PRIMARY KEY,
            mime TEXT NOT NULL,
            data BLOB NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE TABLE warnings (
            id INTEGER PRIMARY KEY,
            series_id INTEGER NOT NULL REFERENCES warnings(id),
            revision INTEGER NOT NULL,
            msg_type TEXT NOT NULL CHECK (msg_type IN ('Alert', 'Update')),
            references_id INTEGER REFERENCES warnings(id),
            unit_id INTEGER NOT NULL REFERENCES units(id),
            status TEXT NOT NULL CHECK (status IN ('draft', 'submitted', 'approved',
                'published', 'rejected', 'withdrawn', 'cancelled', 'expired')),
            content TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            mode TEXT NOT NULL CHECK (mode IN ('Actual', 'Exercise', 'Test')),
            publish_at TEXT,
            expires_at TEXT NOT NULL,
            image_sha256 TEXT REFERENCES images(sha256),
            created_by INTEGER NOT NULL REFERENCES users(id),
            created_at TEXT NOT NULL,
            updated_by INTEGER NOT NULL REFERENCES users(id),
            updated_at TEXT NOT NULL,
            submitted_at TEXT,
            approved_by INTEGER REFERENCES users(id),
            approved_at TEXT,
            approved_hash TEXT,
            reviewed_hash TEXT,
            reject_reason TEXT,
            published_at TEXT,
            code TEXT UNIQUE,
            cancelled_by INTEGER REFERENCES users(id),
            cancelled_at TEXT,
            cancel_reason TEXT,
            superseded_by INTEGER REFERENCES warnings(id),
            UNIQUE (series_id, revision)
        );
        CREATE INDEX warnings_unit_status ON warnings(unit_id, status);
        CREATE INDEX warnings_status_publish ON warnings(status, publish_at);
        CREATE TABLE warning_regions (
            warning_id INTEGER NOT NULL REFERENCES warnings(id),
            region_code TEXT NOT NULL REFERENCES regions(code),
            PRIMARY KEY (warning_id, region_code)
        );
        CREATE INDEX warning_regions_region ON warning_regions(region_code);
        CREATE TABLE warning_indicators (
            warning_id INTEGER NOT NULL REFERENCES warnings(id),
            kind TEXT NOT NULL CHECK (kind IN ('phone', 'account', 'link')),
            value TEXT NOT NULL,
            key TEXT NOT NULL,
            PRIMARY KEY (warning_id, kind, value)
        );
        CREATE INDEX warning_indicators_key ON warning_indicators(kind, key);
        CREATE TABLE warning_editors (
            warning_id INTEGER NOT NULL REFERENCES warnings(id),
            user_id INTEGER NOT NULL REFERENCES users(id),
            PRIMARY KEY (warning_id, user_id)
        );
        CREATE TABLE warning_versions (
            warning_id INTEGER NOT NULL REFERENCES warnings(id),
            content_hash TEXT NOT NULL,
            content TEXT NOT NULL,
            saved_by INTEGER NOT NULL REFERENCES users(id),
            saved_at TEXT NOT NULL,
            PRIMARY KEY (warning_id, content_hash)
        );
        CREATE TABLE warning_templates (
            id INTEGER PRIMARY KEY,
            slug TEXT UNIQUE,
            unit_id INTEGER REFERENCES units(id),
            name TEXT NOT NULL,
            fields TEXT NOT NULL,
            active INTEGER NOT NULL DEFAULT 1,
            created_by INTEGER REFERENCES users(id),
            updated_at TEXT NOT NULL
        );
        CREATE INDEX warning_templates_unit ON warning_templates(unit_id);
        CREATE TABLE api_tokens (
            id INTEGER PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users(id),
            name TEXT NOT NULL,
            token_hash TEXT NOT NULL UNIQUE,
            prefix TEXT NOT NULL,
            created_at TEXT NOT NULL,
            last_used_at TEXT,
            revoked_at TEXT
        );
        CREATE INDEX api_tokens_user ON api_tokens(user_id);
        CREATE INDEX audit_object ON audit_log(object);
        """,
    )


@migrations()
def m005_signatures(db: sqlite_utils.Database) -> None:
    """Ed25519 signatures of published messages: the exact bytes signed, kept with the key
    id, so anyone can verify a warning (or its cancellation) against the public key."""
    _run(
        db,
        """
        CREATE TABLE signatures (
            warning_id INTEGER NOT NULL REFERENCES warnings(id),
            msg_type TEXT NOT NULL CHECK (msg_type IN ('Alert', 'Update', 'Cancel')),
            key_id TEXT NOT NULL,
            payload BLOB NOT NULL,
            signature TEXT NOT NULL,
            signed_at TEXT NOT NULL,
            PRIMARY KEY (warning_id, msg_type)
        );
        CREATE TRIGGER signatures_no_update BEFORE UPDATE ON signatures
        BEGIN SELECT RAISE(ABORT, 'signatures are never changed'); END;
        """,
    )


@migrations()
def m006_delivery(db: sqlite_utils.Database) -> None:
    """The delivery engine: units' channel accounts (secrets encrypted), residents'
    subscriptions, the outbox of deliveries, the breaker state and the worker's lease.

    One delivery row per (message, channel, account, target) with a unique idempotency key,
    inserted in the same transaction as the publication (or cancellation) it carries.
    """
    _run(
        db,
        """
        CREATE TABLE channel_accounts (
            id INTEGER PRIMARY KEY,
            unit_id INTEGER NOT NULL REFERENCES units(id),
            channel TEXT NOT NULL CHECK (channel IN ('zalo', 'facebook', 'telegram', 'sms',
                'email', 'webhook')),
            name TEXT NOT NULL,
            base_url TEXT NOT NULL,
            settings TEXT NOT NULL,
            secrets BLOB NOT NULL,
            active INTEGER NOT NULL DEFAULT 1,
            test_audience INTEGER NOT NULL DEFAULT 0,
            disabled_reason TEXT,
            breaker_failures INTEGER NOT NULL DEFAULT 0,
            breaker_open_until TEXT,
            updated_at TEXT NOT NULL,
            UNIQUE (unit_id, channel, name)
        );
        CREATE TABLE subscriptions (
            id INTEGER PRIMARY KEY,
            channel TEXT NOT NULL CHECK (channel IN ('zalo', 'telegram', 'sms', 'email')),
            address TEXT NOT NULL,
            region_code TEXT NOT NULL REFERENCES regions(code),
            status TEXT NOT NULL CHECK (status IN ('pending', 'active', 'unsubscribed',
                'disabled')),
            test_audience INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            confirmed_at TEXT,
            ended_at TEXT,
            UNIQUE (channel, address, region_code)
        );
        CREATE INDEX subscriptions_region ON subscriptions(region_code, channel, status);
        CREATE TABLE deliveries (
            id INTEGER PRIMARY KEY,
            warning_id INTEGER NOT NULL REFERENCES warnings(id),
            msg_type TEXT NOT NULL CHECK (msg_type IN ('Alert', 'Update', 'Cancel')),
            channel TEXT NOT NULL,
            account_id INTEGER NOT NULL REFERENCES channel_accounts(id),
            target TEXT NOT NULL,
            subscription_id INTEGER REFERENCES subscriptions(id),
            province_code TEXT,
            idempotency_key TEXT NOT NULL UNIQUE,
            priority INTEGER NOT NULL DEFAULT 0,
            status TEXT NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'dead',
                'cancelled')),
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT NOT NULL,
            lease_expires_at TEXT,
            expires_at TEXT NOT NULL,
            possible_duplicate INTEGER NOT NULL DEFAULT 0,
            provider_id TEXT,
            last_error TEXT,
            history TEXT NOT NULL DEFAULT '[]',
            created_at TEXT NOT NULL,
            sent_at TEXT
        );
        CREATE INDEX deliveries_due ON deliveries(status, next_attempt_at);
        CREATE INDEX deliveries_warning ON deliveries(warning_id, channel, status);
        CREATE TABLE worker_lease (
            name TEXT PRIMARY KEY,
            holder TEXT NOT NULL,
            heartbeat_at TEXT NOT NULL,
            expires_at TEXT NOT NULL
        );
        """,
    )


@migrations()
def m007_subscription_notices(db: sqlite_utils.Database) -> None:
    """Residents' opt-in: the outbox of notices (confirmation codes and links, "manage your
    subscriptions" links: messages that are not warnings), and on subscriptions the hashed
    confirmation code or link with its expiry and the hashed unsubscribe/manage token.

    Only SHA-256 or HMAC digests are stored, never a code or token. A notice's text, which
    holds a code or a link, is erased once it is sent or given up. Rate limits reuse the
    ``signin_throttle`` counters (keys "sub:...").
    """
    _run(
        db,
        """
        CREATE TABLE notices (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('confirm', 'manage')),
            channel TEXT NOT NULL CHECK (channel IN ('zalo', 'telegram', 'sms', 'email')),
            account_id INTEGER NOT NULL REFERENCES channel_accounts(id),
            target TEXT NOT NULL,
            subject TEXT NOT NULL DEFAULT '',
            text TEXT NOT NULL,
            html TEXT NOT NULL DEFAULT '',
            idempotency_key TEXT NOT NULL UNIQUE,
            status TEXT NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'dead')),
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT NOT NULL,
            lease_expires_at TEXT,
            expires_at TEXT NOT NULL,
            last_error TEXT,
            created_at TEXT NOT NULL,
            sent_at TEXT
        );
        CREATE INDEX notices_due ON notices(status, next_attempt_at);
        ALTER TABLE subscriptions ADD COLUMN confirm_hash TEXT;
        ALTER TABLE subscriptions ADD COLUMN confirm_expires_at TEXT;
        ALTER TABLE subscriptions ADD COLUMN token_hash TEXT;
        CREATE UNIQUE INDEX subscriptions_token ON subscriptions(token_hash);
        CREATE INDEX subscriptions_confirm ON subscriptions(confirm_hash);
        CREATE INDEX subscriptions_confirm_expiry ON subscriptions(confirm_expires_at);
        CREATE INDEX deliveries_subscription ON deliveries(subscription_id);
        """,
    )


@migrations()
def m008_outbox_claim_indexes(db: sqlite_utils.Database) -> None:
    """Indexes the worker's claim walks in order: the due query (status, then priority,
    next attempt and id, as it sorts) stops after one batch instead of sorting every queued
    row, and the expiry sweep finds what expired without reading every queued row. With a
    province's million deliveries queued, each claim was otherwise a full pass."""
    db.executescript(
        """
        DROP INDEX deliveries_due;
        CREATE INDEX deliveries_claim
            ON deliveries(status, priority DESC, next_attempt_at, id);
        CREATE INDEX deliveries_expiry ON deliveries(status, expires_at);
        """,
    )


@migrations()
def m009_account_changes(db: sqlite_utils.Database) -> None:
    """Who changed whose credentials or roles, and when (four eyes over staff accounts).

    An admin who resets an officer's password could sign in as that officer, so approval
    checks this table: nobody reviews what was written by an account they recently took
    over. ``must_change_password`` makes the user replace a password someone else chose;
    ``integrity_failure`` records why a revision's stored content no longer matches the
    hash that was approved (it is then never sent).
    """
    _run(
        db,
        """
        ALTER TABLE users ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0;
        CREATE TABLE account_changes (
            id INTEGER PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users(id),
            kind TEXT NOT NULL CHECK (kind IN ('created', 'password_reset', 'totp_reset',
                'roles', 'unit')),
            by_user_id INTEGER REFERENCES users(id),
            at TEXT NOT NULL
        );
        CREATE INDEX account_changes_user ON account_changes(user_id, at);
        CREATE TRIGGER account_changes_no_update BEFORE UPDATE ON account_changes
        BEGIN SELECT RAISE(ABORT, 'account_changes is append-only'); END;
        CREATE TRIGGER account_changes_no_delete BEFORE DELETE ON account_changes
        BEGIN SELECT RAISE(ABORT, 'account_changes is append-only'); END;
        ALTER TABLE warnings ADD COLUMN integrity_failure TEXT;
        """,
    )


@migrations()
def m010_outbox_lanes(db: sqlite_utils.Database) -> None:
    """Each account claims its own work (its lane), and an attempt is known to have started.

    ``started_at`` is written, durably, just before an attempt goes on the wire: a claimed
    row without it never reached the provider, so a cancel stops it and a crash puts it
    back without the possible-duplicate mark. The claim index leads with the account, so
    one lane's claim walks only its own queue, never a slow neighbour's million rows."""
    db.executescript(
        """
        ALTER TABLE deliveries ADD COLUMN started_at TEXT;
        ALTER TABLE notices ADD COLUMN started_at TEXT;
        DROP INDEX deliveries_claim;
        CREATE INDEX deliveries_lane
            ON deliveries(status, account_id, priority DESC, next_attempt_at, id);
        """,
    )


@migrations()
def m011_health_probe(db: sqlite_utils.Database) -> None:
    """One row that /healthz rewrites to prove the database takes a write (a full disk
    fails only writes: every read, and so the old /healthz, still succeeded). ``probes``
    counts up so that every rewrite changes the row: SQLite skips writing a page whose
    content would stay the same, and such a commit succeeds on a full disk."""
    db.executescript(
        """
        CREATE TABLE health_probe (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            at TEXT NOT NULL,
            probes INTEGER NOT NULL
        );
        """,
    )


# m012's deliveries: m006-m011's columns, in their order.
_DELIVERY_COLUMNS = (
    "id, warning_id, msg_type, channel, account_id, target, subscription_id, province_code,"
    " idempotency_key, priority, status, attempts, next_attempt_at, lease_expires_at,"
    " expires_at, possible_duplicate, provider_id, last_error, history, created_at, sent_at,"
    " started_at"
)


@migrations()
def m012_outbox_lean_inserts(db: sqlite_utils.Database) -> None:
    """Queueing a province's million deliveries at approval took 10 s on the bench machine
    (issue 13), in the work SQLite does per row: the table is rebuilt, every row kept.

    - The CHECKs on ``msg_type`` and ``status`` are written as ORs: SQLite codes a CHECK's
      ``IN`` list of three or more as a temporary b-tree built anew for every row inserted
      (``EXPLAIN INSERT`` shows OpenEphemeral in the row's code). Same meaning; a quarter
      of the statement's time (1M rows: 7.8 s CPU before, 5.4 s after).
    - Fewer and narrower index entries per row, so fewer pages to write and checkpoint
      at commit (the WAL of 1M rows: 353 MB before, 295 MB after): the claim
      (``deliveries_lane``) and expiry indexes hold queued rows only (partial), the expiry
      one as an integer (unixepoch) rather than 25 characters; the warning's index holds
      only its id. Rows being sent, dead letters and sent broadcasts, few at any time, get
      small partial indexes of their own, which nothing queued ever enters.
    """
    _run(
        db,
        f"""
        CREATE TABLE deliveries_m012 (
            id INTEGER PRIMARY KEY,
            warning_id INTEGER NOT NULL REFERENCES warnings(id),
            msg_type TEXT NOT NULL
                CHECK (msg_type = 'Alert' OR msg_type = 'Update' OR msg_type = 'Cancel'),
            channel TEXT NOT NULL,
            account_id INTEGER NOT NULL REFERENCES channel_accounts(id),
            target TEXT NOT NULL,
            subscription_id INTEGER REFERENCES subscriptions(id),
            province_code TEXT,
            idempotency_key TEXT NOT NULL UNIQUE,
            priority INTEGER NOT NULL DEFAULT 0,
            status TEXT NOT NULL CHECK (status = 'queued' OR status = 'sending'
                OR status = 'sent' OR status = 'dead' OR status = 'cancelled'),
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT NOT NULL,
            lease_expires_at TEXT,
            expires_at TEXT NOT NULL,
            possible_duplicate INTEGER NOT NULL DEFAULT 0,
            provider_id TEXT,
            last_error TEXT,
            history TEXT NOT NULL DEFAULT '[]',
            created_at TEXT NOT NULL,
            sent_at TEXT,
            started_at TEXT
        );
        INSERT INTO deliveries_m012 ({_DELIVERY_COLUMNS})
            SELECT {_DELIVERY_COLUMNS} FROM deliveries;
        DROP TABLE deliveries;
        ALTER TABLE deliveries_m012 RENAME TO deliveries;
        CREATE INDEX deliveries_warning ON deliveries(warning_id);
        CREATE INDEX deliveries_subscription ON deliveries(subscription_id);
        CREATE INDEX deliveries_lane ON deliveries(account_id, priority DESC, next_attempt_at)
            WHERE status = 'queued';
        CREATE INDEX deliveries_expiry ON deliveries(unixepoch(expires_at))
            WHERE status = 'queued';
        CREATE INDEX deliveries_sending ON deliveries(account_id) WHERE status = 'sending';
        CREATE INDEX deliveries_dead ON deliveries(warning_id) WHERE status = 'dead';
        CREATE INDEX deliveries_sent_broadcasts ON deliveries(sent_at)
            WHERE status = 'sent' AND target = 'broadcast';
        """,
    )


@migrations()
def m013_inbound(db: sqlite_utils.Database) -> None:
    """What the channels send back (issue 15, ../shared/channels-inbound.md).

    - ``inbound_events``: the durable inbox. An endpoint checks a call's proof of origin,
      writes each event here and answers at once; the worker applies it later. A platform
      re-delivers (Zalo, Meta, eSMS and Telegram all retry): ``UNIQUE (account_id,
      event_key)`` on the platform's own event id makes the retry a no-op. What a resident
      sent (their address, their text, the raw body) is sealed with the data key
      (``sealed``) and dropped after processing and a retention period; the key stays
      for deduplication.
    - Deliveries get the provider's receipt (delivered, read, failed) beside the engine's
      status, which stays the engine's alone: a receipt reports what happened after the
      send, it never reopens one. Receipts name our sends by the provider's message id,
      hence an index on it (partial: queued rows, the million at approval, have none).
    - Subscriptions get the reason a platform gave when it paused one (blocked the bot,
      unfollowed the OA, a hard bounce, a complaint).
    - ``channel_links``: one-time tokens of a "subscribe in the app" link (a Telegram
      ``/start`` payload), bound to the communes chosen; only their digests are kept.
    """
    _run(
        db,
        """
        CREATE TABLE inbound_events (
            id INTEGER PRIMARY KEY,
            channel TEXT NOT NULL,
            account_id INTEGER NOT NULL REFERENCES channel_accounts(id),
            event_key TEXT NOT NULL,
            kind TEXT NOT NULL,
            sealed BLOB,
            received_at TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'new'
                CHECK (status = 'new' OR status = 'done' OR status = 'failed'),
            attempts INTEGER NOT NULL DEFAULT 0,
            processed_at TEXT,
            outcome TEXT,
            UNIQUE (account_id, event_key)
        );
        CREATE INDEX inbound_new ON inbound_events(id) WHERE status = 'new';
        CREATE INDEX inbound_received ON inbound_events(received_at);
        ALTER TABLE deliveries ADD COLUMN receipt TEXT
            CHECK (receipt IS NULL OR receipt = 'delivered' OR receipt = 'read'
                OR receipt = 'failed');
        ALTER TABLE deliveries ADD COLUMN receipt_at TEXT;
        ALTER TABLE deliveries ADD COLUMN receipt_detail TEXT;
        CREATE INDEX deliveries_provider ON deliveries(account_id, provider_id)
            WHERE provider_id IS NOT NULL;
        ALTER TABLE subscriptions ADD COLUMN paused_reason TEXT;
        CREATE TABLE channel_links (
            token_hash TEXT PRIMARY KEY,
            channel TEXT NOT NULL,
            account_id INTEGER NOT NULL REFERENCES channel_accounts(id),
            region_codes TEXT NOT NULL,
            lang TEXT NOT NULL,
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            used_at TEXT
        );
        CREATE INDEX channel_links_expiry ON channel_links(expires_at);
        """,
    )


@migrations()
def m014_reports(db: sqlite_utils.Database) -> None:
    """What residents report to their police (issue 16).

    - ``reports``: one per report, routed to the commune police unit of the commune chosen
      (``unit_id``; forwarding up changes it, ``origin_unit_id`` stays). ``code`` is the
      reference the resident gets at once and withdraws with. How to reach the reporter
      back (their address on the channel they used, or the phone/email they gave) is sealed
      with the data key (``contact_sealed``) and shown only masked (``contact_masked``).
      ``purge_after`` is when it is deleted unless a warning came from it (``warning_id``).
    - ``report_indicators``: the scammer's phones, accounts and links, normalised as a
      warning's are (same ``key``), so that reports group by indicator and a lookup counts
      them; the indicator is the scammer's, never the reporter's.
    - ``report_images``: an optional screenshot (checked by its bytes, metadata stripped),
      sealed like the contact: it may show the resident's own messages.
    """
    _run(
        db,
        """
        CREATE TABLE reports (
            id INTEGER PRIMARY KEY,
            code TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL CHECK (kind = 'scam_call' OR kind = 'scam_message'
                OR kind = 'fake_site' OR kind = 'fake_news' OR kind = 'crime_tip'
                OR kind = 'other'),
            region_code TEXT NOT NULL REFERENCES regions(code),
            unit_id INTEGER NOT NULL REFERENCES units(id),
            origin_unit_id INTEGER NOT NULL REFERENCES units(id),
            status TEXT NOT NULL DEFAULT 'new' CHECK (status = 'new' OR status = 'in_review'
                OR status = 'confirmed' OR status = 'duplicate' OR status = 'dismissed'
                OR status = 'forwarded' OR status = 'withdrawn'),
            duplicate_of INTEGER REFERENCES reports(id),
            reason TEXT,
            assigned_to INTEGER REFERENCES users(id),
            text TEXT NOT NULL,
            channel TEXT NOT NULL CHECK (channel = 'portal' OR channel = 'zalo'
                OR channel = 'telegram' OR channel = 'sms'),
            account_id INTEGER REFERENCES channel_accounts(id),
            contact_sealed BLOB,
            contact_masked TEXT,
            created_at TEXT NOT NULL,
            first_reviewed_at TEXT,
            updated_at TEXT NOT NULL,
            warning_id INTEGER REFERENCES warnings(id),
            purge_after TEXT NOT NULL
        );
        CREATE INDEX reports_inbox ON reports(unit_id, status, created_at);
        CREATE INDEX reports_purge ON reports(purge_after) WHERE warning_id IS NULL;
        CREATE TABLE report_indicators (
            report_id INTEGER NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
            kind TEXT NOT NULL CHECK (kind = 'phone' OR kind = 'account' OR kind = 'link'),
            value TEXT NOT NULL,
            key TEXT NOT NULL,
            PRIMARY KEY (report_id, kind, value)
        );
        CREATE INDEX report_indicators_key ON report_indicators(kind, key);
        CREATE TABLE report_images (
            report_id INTEGER PRIMARY KEY REFERENCES reports(id) ON DELETE CASCADE,
            mime TEXT NOT NULL,
            sealed BLOB NOT NULL,
            created_at TEXT NOT NULL
        );
        """,
    )


@migrations()
def m015_notice_kinds(db: sqlite_utils.Database) -> None:
    """The channels talk back (issues 15 and 16): besides confirmation codes and "manage"
    links, the notices outbox carries the bot's replies in a conversation (``reply``), the
    welcome after a subscription (``welcome``) and what a reporter is told about their
    report (``report``). SQLite cannot alter a CHECK: the table is rebuilt, rows kept."""
    columns = (
        "id, kind, channel, account_id, target, subject, text, html, idempotency_key, status,"
        " attempts, next_attempt_at, lease_expires_at, expires_at, last_error, created_at,"
        " sent_at, started_at"
    )
    _run(
        db,
        f"""
        CREATE TABLE notices_m015 (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('confirm', 'manage', 'reply', 'welcome', 'report')),
            channel TEXT NOT NULL CHECK (channel IN ('zalo', 'telegram', 'sms', 'email')),
            account_id INTEGER NOT NULL REFERENCES channel_accounts(id),
            target TEXT NOT NULL,
            subject TEXT NOT NULL DEFAULT '',
            text TEXT NOT NULL,
            html TEXT NOT NULL DEFAULT '',
            idempotency_key TEXT NOT NULL UNIQUE,
            status TEXT NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'dead')),
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT NOT NULL,
            lease_expires_at TEXT,
            expires_at TEXT NOT NULL,
            last_error TEXT,
            created_at TEXT NOT NULL,
            sent_at TEXT,
            started_at TEXT
        );
        INSERT INTO notices_m015 ({columns}) SELECT {columns} FROM notices;
        DROP TABLE notices;
        ALTER TABLE notices_m015 RENAME TO notices;
        CREATE INDEX notices_due ON notices(status, next_attempt_at);
        """,
    )


@migrations()
def m016_fanouts(db: sqlite_utils.Database) -> None:
    """A warning to a province's or the nation's residents is queued in chunks (issue 13).

    Queueing a million deliveries in the approval's transaction held SQLite's one write
    lock for seconds (the rows, their keys, their indexes and a WAL of 300 MB to sync),
    during which no other approval, cancel, receipt or delivery result could be written.
    The approval now queues the first chunk and writes here what remains to queue: the
    regions left with how many subscribers each had (``regions_left``, a JSON array of
    ``[code, count]``); the worker queues the next chunk every tick, each in its own
    short transaction, until none is left, the warning is cancelled or superseded, or it
    expires (``status`` stopped).
    """
    _run(
        db,
        """
        CREATE TABLE fanouts (
            id INTEGER PRIMARY KEY,
            warning_id INTEGER NOT NULL REFERENCES warnings(id),
            msg_type TEXT NOT NULL,
            channel TEXT NOT NULL,
            account_id INTEGER NOT NULL REFERENCES channel_accounts(id),
            priority INTEGER NOT NULL,
            test_audience INTEGER NOT NULL,
            expires_at TEXT NOT NULL,
            regions_left TEXT NOT NULL,
            expected INTEGER NOT NULL,
            queued INTEGER NOT NULL,
            status TEXT NOT NULL DEFAULT 'open'
                CHECK (status = 'open' OR status = 'done' OR status = 'stopped'),
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX fanouts_open ON fanouts(warning_id) WHERE status = 'open';
        """,
    )


@migrations()
def m017_chat_conversations(db: sqlite_utils.Database) -> None:
    """Residents talk to the Telegram bot and the Zalo OA (issues 15 and 16): a report by
    chat may take a few messages (what happened, then which commune), so the step reached
    is kept per conversation until it expires. ``party`` is an HMAC of the channel and the
    resident's address (no address in clear), ``sealed`` the step and what was said so far,
    sealed with the data key like the inbox."""
    _run(
        db,
        """
        CREATE TABLE chat_conversations (
            party TEXT PRIMARY KEY,
            sealed BLOB NOT NULL,
            updated_at TEXT NOT NULL,
            expires_at TEXT NOT NULL
        );
        CREATE INDEX chat_conversations_expiry ON chat_conversations(expires_at);
        """,
    )


@migrations()
def m018_refutations(db: sqlite_utils.Database) -> None:
    """Refutations (issue 16): /verify compares a pasted text with every refutation in force,
    so the warning type is kept as a generated column of the content (nothing writes it,
    nothing can make it disagree with the content) and indexed with the status: that
    lookup reads the refutations' rows only, not every warning's JSON."""
    _run(
        db,
        """
        ALTER TABLE warnings ADD COLUMN warning_type TEXT
            GENERATED ALWAYS AS (content ->> '$.warning_type') VIRTUAL;
        CREATE INDEX warnings_by_type ON warnings(warning_type, status, expires_at);
        """,
    )


@migrations()
def m019_reach_counts(db: sqlite_utils.Database) -> None:
    """Reach (issue 18): portal views of a warning's page and CAP document and /verify checks
    of its code, one counter per warning, kind and minute, and the indicators residents look
    up, one counter per day, kind and key. Counters only: no cookie, address or per-visitor
    row exists to leak; a busy minute is one row."""
    _run(
        db,
        """
        CREATE TABLE reach_views (
            warning_id INTEGER NOT NULL REFERENCES warnings(id),
            kind TEXT NOT NULL CHECK (kind IN ('page', 'cap', 'verify')),
            minute TEXT NOT NULL,
            count INTEGER NOT NULL CHECK (count > 0),
            PRIMARY KEY (warning_id, kind, minute)
        ) WITHOUT ROWID;
        CREATE TABLE reach_lookups (
            day TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('phone', 'account', 'link')),
            key TEXT NOT NULL,
            count INTEGER NOT NULL CHECK (count > 0),
            PRIMARY KEY (day, kind, key)
        ) WITHOUT ROWID;
        """,
    )


@migrations()
def m020_portal_changes(db: sqlite_utils.Database) -> None:
    """What residents see changed (issue 17): one row per publication, update, cancel or
    expiry, written by a trigger in the transaction that changes the warning, so no path
    (workflow, worker, API, an edit behind the application's back) forgets it. The highest
    ``seq`` is the portal's version: the app's page cache is keyed by it, and the worker
    purges the reverse proxy's copies of the warnings whose rows are new."""
    _run(
        db,
        """
        CREATE TABLE portal_changes (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            warning_id INTEGER NOT NULL REFERENCES warnings(id),
            status TEXT NOT NULL,
            changed_at TEXT NOT NULL
        );
        CREATE TRIGGER portal_changes_on_status AFTER UPDATE OF status ON warnings
        WHEN NEW.status <> OLD.status
            AND (NEW.status IN ('published', 'cancelled', 'expired')
                 OR OLD.status IN ('published', 'cancelled', 'expired'))
        BEGIN
            INSERT INTO portal_changes (warning_id, status, changed_at)
            VALUES (NEW.id, NEW.status, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'));
        END;
        CREATE TRIGGER portal_changes_on_signature AFTER INSERT ON signatures
        BEGIN
            INSERT INTO portal_changes (warning_id, status, changed_at)
            VALUES (NEW.warning_id, 'signed', strftime('%Y-%m-%dT%H:%M:%SZ', 'now'));
        END;
        """,
    )


# A delivery's state as staff see it: a queued one that failed at least once waits for
# its retry ("failed"). {row} is "new" or "old" in a trigger, a table name elsewhere.
_SHOWN_STATE = (
    "CASE WHEN {row}.status = 'queued' AND {row}.attempts > 0 THEN 'failed' ELSE {row}.status END"
)


def _count(row: str, step: str) -> str:
    """The statements of a trigger adding ``step`` to the counts of ``row``'s state and of
    its receipt (if it has one)."""
    return f"""
        INSERT INTO delivery_counts VALUES ({row}.warning_id, {row}.msg_type, {row}.channel,
            COALESCE({row}.province_code, ''), {_SHOWN_STATE.format(row=row)}, {step})
            ON CONFLICT DO UPDATE SET count = count + excluded.count;
        INSERT INTO receipt_counts SELECT {row}.warning_id, {row}.channel, {row}.receipt, {step}
            WHERE {row}.receipt IS NOT NULL
            ON CONFLICT DO UPDATE SET count = count + excluded.count;"""


@migrations()
def m021_delivery_counts(db: sqlite_utils.Database) -> None:
    """The counts a warning's page shows, kept as deliveries change (issue 17).

    ``progress.json``, polled by every open warning page, grouped every delivery row of
    the revision per poll: 1 s for a national warning's 500,000. Triggers now keep the
    counts by (revision, message, channel, province, shown state) and by (revision,
    channel, receipt) in the very statement that inserts, moves or deletes a delivery, so
    no path (claims, results, retries, expiry, cancel, receipts, replays, lease recovery)
    can leave them behind, and a reader sums a few rows. Counts may fall to 0; readers
    skip those. A later migration that rebuilds ``deliveries`` must create the triggers
    again (DROP TABLE drops them).

    Also an index for the reported-failed list of a warning's page, which walked every
    delivery of the revision to find the few whose receipt is "failed", and the portal's
    indexes (``_portal_indexes``), found by the same data-scale bench.
    """
    state = _SHOWN_STATE.format(row="deliveries")
    _run(
        db,
        f"""
        CREATE TABLE delivery_counts (
            warning_id INTEGER NOT NULL,
            msg_type TEXT NOT NULL,
            channel TEXT NOT NULL,
            province TEXT NOT NULL,
            state TEXT NOT NULL,
            count INTEGER NOT NULL,
            PRIMARY KEY (warning_id, msg_type, channel, province, state)
        ) WITHOUT ROWID;
        CREATE TABLE receipt_counts (
            warning_id INTEGER NOT NULL,
            channel TEXT NOT NULL,
            receipt TEXT NOT NULL,
            count INTEGER NOT NULL,
            PRIMARY KEY (warning_id, channel, receipt)
        ) WITHOUT ROWID;
        INSERT INTO delivery_counts
            SELECT warning_id, msg_type, channel, COALESCE(province_code, ''), {state}, COUNT(*)
            FROM deliveries GROUP BY 1, 2, 3, 4, 5;
        INSERT INTO receipt_counts SELECT warning_id, channel, receipt, COUNT(*)
            FROM deliveries WHERE receipt IS NOT NULL GROUP BY 1, 2, 3;
        CREATE TRIGGER deliveries_counted_insert AFTER INSERT ON deliveries BEGIN
            {_count("new", "1")}
        END;
        CREATE TRIGGER deliveries_counted_delete AFTER DELETE ON deliveries BEGIN
            {_count("old", "-1")}
        END;
        CREATE TRIGGER deliveries_counted_update AFTER UPDATE OF status, attempts, receipt
            ON deliveries
            WHEN {_SHOWN_STATE.format(row="old")} != {_SHOWN_STATE.format(row="new")}
            OR old.receipt IS NOT new.receipt
        BEGIN
            {_count("old", "-1")}
            {_count("new", "1")}
        END;
        CREATE INDEX deliveries_reported_failed ON deliveries(warning_id, receipt_at)
            WHERE receipt = 'failed';
        """,
    )
    _portal_indexes(db)


# The portal's live warnings (alerts/store/portal.py ``_LIVE``): an index's WHERE must be
# implied by the query's for SQLite to use it.
_LIVE = "code IS NOT NULL AND published_at IS NOT NULL AND mode = 'Actual'"


def _portal_indexes(db: sqlite_utils.Database) -> None:
    """The portal read every live warning of two years per feed request (issue 17's
    data-scale bench, 10,000 warnings: the national feed's last change 76 ms, its entries
    23 ms): what is in force or just cancelled is found by status and expiry, and the
    newest publication, cancellation, expiry and replacement each on an index of its own."""
    _run(
        db,
        f"""
        CREATE INDEX warnings_live_status ON warnings(status, expires_at) WHERE {_LIVE};
        CREATE INDEX warnings_live_published ON warnings(published_at) WHERE {_LIVE};
        CREATE INDEX warnings_live_expiry ON warnings(expires_at) WHERE {_LIVE};
        CREATE INDEX warnings_live_cancelled ON warnings(cancelled_at)
            WHERE {_LIVE} AND cancelled_at IS NOT NULL;
        CREATE INDEX warnings_superseded ON warnings(superseded_by)
            WHERE superseded_by IS NOT NULL;
        """,
    )


@migrations()
def m022_staff_channels(db: sqlite_utils.Database) -> None:
    """The staff are told of their work (issue 18): each person may name one staff channel
    (an email address or a Telegram chat of the unit), sealed with the data key and shown
    masked, confirmed by a code sent there and typed back (only its hash is kept; at most a
    few codes a day, counted in ``codes_sent`` since ``codes_since``);
    ``staff_notified`` records each event told once (a submission, a reminder, an approval,
    a rejection, a publication), keyed by the time that made it. The notices outbox carries
    these messages as ``staff`` notices: its CHECK is rebuilt, rows kept."""
    columns = (
        "id, kind, channel, account_id, target, subject, text, html, idempotency_key, status,"
        " attempts, next_attempt_at, lease_expires_at, expires_at, last_error, created_at,"
        " sent_at, started_at"
    )
    _run(
        db,
        f"""
        CREATE TABLE staff_channels (
            user_id INTEGER PRIMARY KEY REFERENCES users(id),
            channel TEXT NOT NULL CHECK (channel = 'email' OR channel = 'telegram'),
            sealed BLOB NOT NULL,
            masked TEXT NOT NULL,
            code_hash TEXT,
            code_expires_at TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            codes_sent INTEGER NOT NULL DEFAULT 0,
            codes_since TEXT,
            verified_at TEXT,
            updated_at TEXT NOT NULL
        );
        CREATE TABLE staff_notified (
            warning_id INTEGER NOT NULL REFERENCES warnings(id),
            event TEXT NOT NULL,
            stamp TEXT NOT NULL,
            at TEXT NOT NULL,
            PRIMARY KEY (warning_id, event, stamp)
        );
        CREATE TABLE notices_m022 (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('confirm', 'manage', 'reply', 'welcome', 'report',
                'staff')),
            channel TEXT NOT NULL CHECK (channel IN ('zalo', 'telegram', 'sms', 'email')),
            account_id INTEGER NOT NULL REFERENCES channel_accounts(id),
            target TEXT NOT NULL,
            subject TEXT NOT NULL DEFAULT '',
            text TEXT NOT NULL,
            html TEXT NOT NULL DEFAULT '',
            idempotency_key TEXT NOT NULL UNIQUE,
            status TEXT NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'dead')),
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT NOT NULL,
            lease_expires_at TEXT,
            expires_at TEXT NOT NULL,
            last_error TEXT,
            created_at TEXT NOT NULL,
            sent_at TEXT,
            started_at TEXT
        );
        INSERT INTO notices_m022 ({columns}) SELECT {columns} FROM notices;
        DROP TABLE notices;
        ALTER TABLE notices_m022 RENAME TO notices;
        CREATE INDEX notices_due ON notices(status, next_attempt_at);
        """,
    )


@migrations()
def m023_staff_languages(db: sqlite_utils.Database) -> None:
    """Each person's work notices in their own language (issue 18): ``language`` is the one
    chosen on the account page, ``ui_language`` the one last picked in the UI's switch while
    signed in; neither set means the deployment's default. Only Vietnamese or English."""
    _run(
        db,
        """
        ALTER TABLE users ADD COLUMN language TEXT CHECK (language IN ('vi', 'en'));
        ALTER TABLE users ADD COLUMN ui_language TEXT CHECK (ui_language IN ('vi', 'en'));
        """,
    )


def apply(db: sqlite_utils.Database) -> list[str]:
    """Apply pending migrations atomically; return the names applied (none if up to date)."""
    with dbmod.write(db):
        names = [m.name for m in migrations.pending(db)]
        migrations.apply(db)
    return names


def pending(db: sqlite_utils.Database) -> list[str]:
    """Return the names of migrations not yet applied (read-only)."""
    return [m.name for m in migrations.pending(db)]


def schema_version(db: sqlite_utils.Database) -> int:
    """Return how many of our migrations are applied."""
    return len(migrations.applied(db))
