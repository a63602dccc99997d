"""Commands run as `flask --app alerts <command>`."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import click
from flask import Flask
from flask import current_app
from flask.cli import with_appcontext

from alerts import audit
from alerts import errors
from alerts import migrations
from alerts import seed
from alerts.clock import utcnow
from alerts.db import get_db
from alerts.db import write
from alerts.delivery import channel_accounts as accounts
from alerts.delivery import webhooks_setup
from alerts.delivery import worker
from alerts.delivery.engine import Dispatcher
from alerts.demo import channels as demo_channels
from alerts.demo import reports as demo_reports
from alerts.demo import warnings as demo_warnings
from alerts.models import Acting
from alerts.models import Role
from alerts.models import User
from alerts.regions.jurisdiction import MINISTRY_CODE
from alerts.security import vault
from alerts.staff import api_tokens as tokens
from alerts.staff import notify_channel
from alerts.staff import users as staff
from alerts.store import audit as audit_store
from alerts.store import backup as backups
from alerts.store import sealed as sealed_store
from alerts.store import units as unit_store

CLI_ADMIN_USERNAME = "cli"


@click.command("init-db")
@with_appcontext
def init_db_command() -> None:
    """Apply pending migrations and load the map and units (safe to run again)."""
    db = get_db()
    applied = migrations.apply(db)
    click.echo(f"Migrations applied: {', '.join(applied) if applied else 'none (up to date)'}")
    if seed.load_reference_data(db):
        click.echo(f"Loaded map and units: {unit_store.count_units(db)} units.")
    else:
        click.echo("Map and units already up to date.")


@click.command("seed-demo")
@with_appcontext
@click.option("--channels-url", help="Base URL of the fake channel servers (demo channels).")
@click.option("--smtp-port", type=int, default=8026, help="Port of the fake SMTP server.")
def seed_demo_command(channels_url: str | None, smtp_port: int) -> None:
    """Create the demo accounts, and with --channels-url the demo channels and residents
    pointing at the fake servers (refused in production)."""
    if current_app.config["ENV"] == "production":
        raise click.ClickException("Demo accounts are refused in production.")
    created = seed.seed_demo_users(get_db())
    click.echo(
        f"Demo accounts created: {', '.join(created) if created else 'none (already there)'}"
    )
    if channels_url:
        count = demo_channels.seed(get_db(), current_app.config, channels_url, smtp_port)
        click.echo(f"Demo channel accounts created: {count} (fakes at {channels_url}).")
    published = demo_warnings.seed(get_db(), current_app.config)
    click.echo(f"Demo warnings published: {published or 'none (already there)'}")
    filed = demo_reports.seed_portal(get_db(), current_app.config)
    click.echo(f"Demo reports filed on the portal: {filed or 'none (already there)'}")


@click.command("create-user")
@with_appcontext
@click.option("--username", required=True, help="3-40 characters: a-z, digits, . _ -")
@click.option("--full-name", required=True)
@click.option("--unit", "unit_code", required=True, help='Unit code: "bca", "ca-01", "ca-00070".')
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    type=click.Choice([r.value for r in Role]),
    help="Repeat for several roles.",
)
@click.password_option(help="Asked for when not given.")
def create_user_command(
    username: str, full_name: str, unit_code: str, roles: tuple, password: str
) -> None:
    """Create a staff account, acting with the ministry's authority (audited as "cli")."""
    db = get_db()
    ministry = unit_store.get_unit_by_code(db, MINISTRY_CODE)
    if ministry is None:
        raise click.ClickException("Run `flask --app alerts init-db` first.")
    admin = Acting(_cli_user(ministry.id), ministry, audit.Actor(CLI_ADMIN_USERNAME, MINISTRY_CODE))
    try:
        user_id = staff.create_user(
            db,
            admin,
            username=username,
            full_name=full_name,
            unit_code=unit_code,
            roles=roles,
            password=password,
        )
    except errors.Refused as exc:
        raise click.ClickException(f"{exc.field or 'input'}: {exc.message}") from None
    click.echo(f"Created user {username.strip().lower()} (id {user_id}).")


def _cli_user(unit_id: int) -> User:
    """Return the stand-in admin the command line acts as (not a stored account)."""
    return User(
        0, CLI_ADMIN_USERNAME, "Command line", unit_id, True, False, False, frozenset({Role.ADMIN})
    )


@click.command("audit-verify")
@with_appcontext
def audit_verify_command() -> None:
    """Recompute the audit log's hash chain; exit 1 at the first broken entry."""
    db = get_db()
    verdict = audit.verify(audit_store.iter_rows(db))
    last_issued = audit_store.last_issued_id(db)
    if verdict.ok and last_issued > verdict.count:
        verdict = audit.Verdict(verdict.count, last_issued, "entries missing at the end of the log")
    if not verdict.ok:
        raise click.ClickException(
            f"Audit chain BROKEN at entry {verdict.broken_id}: {verdict.reason} "
            f"({verdict.count} entries read)."
        )
    click.echo(f"Audit chain OK: {verdict.count} entries.")


CLI_ACTOR = audit.Actor(CLI_ADMIN_USERNAME, MINISTRY_CODE)


@click.command("create-token")
@with_appcontext
@click.argument("username")
@click.option("--name", default=None, help='What the token is for, e.g. "zalo-bot" (max 100).')
def create_token_command(username: str, name: str | None) -> None:
    """Create a personal access token for the API and print it once (audited as "cli")."""
    try:
        token, secret = tokens.create_token(get_db(), CLI_ACTOR, username, name)
    except errors.NotFound:
        raise click.ClickException(f"No user named {username!r}.") from None
    except errors.Refused as exc:
        raise click.ClickException(f"{exc.field or 'input'}: {exc}") from None
    click.echo(f"Created token {token.id} ({token.name}) for {username.strip().lower()}.")
    click.echo("Copy it now, it is not shown again:")
    click.echo(secret)


@click.command("revoke-token")
@with_appcontext
@click.argument("token_id", type=int)
def revoke_token_command(token_id: int) -> None:
    """Revoke a personal access token by its id (see list-tokens); audited as "cli"."""
    try:
        revoked = tokens.revoke_token(get_db(), CLI_ACTOR, token_id)
    except errors.NotFound:
        raise click.ClickException(f"No token with id {token_id}.") from None
    click.echo(
        f"Revoked token {token_id}." if revoked else f"Token {token_id} was already revoked."
    )


@click.command("list-tokens")
@with_appcontext
@click.argument("username")
def list_tokens_command(username: str) -> None:
    """List a user's tokens: id, name, prefix, created, last used, revoked (never the secret)."""
    try:
        found = tokens.list_tokens(get_db(), username)
    except errors.NotFound:
        raise click.ClickException(f"No user named {username!r}.") from None
    if not found:
        click.echo(f"{username.strip().lower()} has no tokens.")
    for t in found:
        state = f"revoked {t.revoked_at}" if t.revoked_at else "active"
        click.echo(
            f"{t.id}\t{t.name}\t{t.prefix}…\tcreated {t.created_at}"
            f"\tlast used {t.last_used_at or 'never'}\t{state}"
        )


@click.command("worker")
@with_appcontext
@click.option("--no-wait", is_flag=True, help="Exit at once if another worker is active.")
def worker_command(no_wait: bool) -> None:
    """Run the delivery worker (one per database): publish, expire and dispatch."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    # httpx logs every URL at INFO, and a Telegram URL carries the bot token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    try:
        worker.run(get_db(), current_app.config, wait=not no_wait)
    except worker.LeaseHeld as held:
        raise click.ClickException(str(held)) from None


@click.command("dispatch-once")
@with_appcontext
def dispatch_once_command() -> None:
    """Run one worker tick now (publish what is due, expire, dispatch) and print it."""
    db, holder = get_db(), worker.holder_name()
    try:
        worker.acquire(db, holder, current_app.config["WORKER_LEASE_SECONDS"])
    except worker.LeaseHeld as held:
        raise click.ClickException(str(held)) from None
    dispatcher = Dispatcher(current_app.config)
    try:
        summary = worker.tick(db, current_app.config, dispatcher)
    finally:
        dispatcher.close()
        worker.release(db, holder)
    outcomes = ", ".join(f"{k}={v}" for k, v in sorted(summary.outcomes.items())) or "none"
    click.echo(
        f"claimed={summary.claimed} recovered={summary.recovered} expired={summary.expired}"
        f" outcomes: {outcomes}"
    )


@click.command("rotate-credentials")
@with_appcontext
def rotate_credentials_command() -> None:
    """Re-encrypt every channel account's secrets, every staff channel's address and the
    residents' sealed data with the first ALERTS_DATA_KEY (in one transaction), so the
    old key can then be removed."""
    db, who = get_db(), audit.Actor(CLI_ADMIN_USERNAME, MINISTRY_CODE)
    try:
        with write(db):
            count = accounts.reseal_all(db, current_app.config, who)
            staff, unreadable = notify_channel.reseal_all(db, current_app.config, who)
            residents = _reseal_residents(db, who)
    except vault.VaultError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Re-encrypted the credentials of {count} channel accounts with the first key.")
    click.echo(f"Re-encrypted the addresses of {staff} staff channel(s) with the first key.")
    if unreadable:
        click.echo(
            f"{unreadable} staff channel(s) open with no key: their owners must confirm them again."
        )
    for table, done in residents.items():
        click.echo(f"Re-encrypted {done} row(s) of {table} with the first key.")


def _reseal_residents(db, who: audit.Actor) -> dict[str, int]:
    """Re-seal the residents' sealed data, table by table (alerts/store/sealed.py); a value
    no configured key opens stops the whole rotation (VaultError): it would be lost."""
    done = {}
    for table in sealed_store.RESIDENTS:
        rows = list(sealed_store.each_sealed(db, table))
        for key, sealed in rows:
            sealed_store.set_sealed(db, table, key, vault.reseal(current_app.config, sealed))
        done[table] = len(rows)
    audit_store.append(db, audit.make_entry(who, "data.reseal", "residents", done))
    return done


@click.command("backup")
@with_appcontext
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace PATH if it exists.")
def backup_command(path: Path, force: bool) -> None:
    """Write a verified copy of the database to PATH, safe while the web app and worker run
    (SQLite's online backup; checked with integrity_check and the audit chain)."""
    began = time.perf_counter()
    try:
        contents = backups.backup(get_db(), path, CLI_ACTOR, force=force)
    except backups.BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(
        f"Backup written and verified: {path} ({contents.describe()};"
        f" {time.perf_counter() - began:.1f} s)."
    )


@click.command("restore")
@with_appcontext
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--force", is_flag=True, help="Restore even while a worker's lease is fresh (stop it first)."
)
def restore_command(path: Path, force: bool) -> None:
    """Replace the database with the verified backup PATH; the replaced one is kept as
    <database>.before-restore-<UTC time>. Stop the worker first."""
    began = time.perf_counter()
    database = Path(current_app.config["DATABASE"])
    try:
        restored = backups.restore(path, database, CLI_ACTOR, utcnow(), force=force)
    except backups.BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(
        f"Restored {database} from {path} ({restored.contents.describe()};"
        f" {time.perf_counter() - began:.1f} s)."
    )
    if restored.kept:
        click.echo(f"The database replaced is kept as {restored.kept}.")
    if restored.contents.pending:
        click.echo(
            f"The backup lacks {restored.contents.pending} newer migrations:"
            " run `flask --app alerts init-db` before starting the app."
        )


@click.command("register-webhooks")
@with_appcontext
def register_webhooks_command() -> None:
    """Tell the platforms where to call us: setWebhook for every active Telegram bot, the
    Meta app installed on every Page (and what to enter in the App Dashboard), the URL to
    enter in the Zalo console. Exit 1 if any account failed."""
    try:
        done = webhooks_setup.register_all(get_db(), current_app.config, CLI_ACTOR)
    except webhooks_setup.PublicUrlError as error:
        raise click.ClickException(str(error)) from None
    for each in done:
        click.echo(f"{each.channel} #{each.account_id} {each.name}: {'OK' if each.ok else 'ERROR'}")
        for line in each.lines:
            click.echo(f"  {line}")
    if not done:
        click.echo("No active Telegram, Facebook or Zalo account.")
    if any(not each.ok for each in done):
        raise click.exceptions.Exit(1)


def init_app(app: Flask) -> None:
    """Register the commands."""
    for command in (
        init_db_command,
        seed_demo_command,
        create_user_command,
        audit_verify_command,
        create_token_command,
        revoke_token_command,
        list_tokens_command,
        worker_command,
        dispatch_once_command,
        rotate_credentials_command,
        backup_command,
        restore_command,
        register_webhooks_command,
    ):
        app.cli.add_command(command)
