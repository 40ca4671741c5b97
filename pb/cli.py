"""`flask --app app pb ...`: thin command-line wrappers over the services."""

from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from pb import catalogues, database
from pb.config import is_production
from pb.database import upgrade_schema
from pb.domain.cycle import Phase
from pb.domain.errors import DomainError, ValidationError
from pb.models import Role
from pb.services import audit, cycles, demo, users

pb_group = AppGroup("pb", help="Run and administer pb budget cycles.")


def _fail(error: DomainError) -> click.ClickException:
    return click.ClickException(error.message)


def _upgrade_schema() -> None:
    try:
        upgrade_schema()
    except DomainError as error:
        raise _fail(error) from None


@pb_group.command("init-db")
def init_db() -> None:
    """Create or upgrade the database tables through the migrations (existing data is kept)."""
    _upgrade_schema()
    click.echo("The database is ready.")


@pb_group.command("demo")
def load_demo() -> None:
    """Load the demo cycles and accounts (running it again changes nothing)."""
    if is_production(current_app.config):
        # The demo's officials share a password printed in the README: on a real installation anyone could log in.
        raise click.ClickException(
            "pb will not load the demo with PB_ENV=production: its official and moderator accounts use the "
            f"published password {demo.DEMO_PASSWORD!r}, so anyone could log in as an official. Nothing was changed. "
            "Create real accounts with `flask --app app pb create-user` instead."
        )
    _upgrade_schema()
    created = demo.load_demo()
    click.echo("Demo cycles loaded." if created else "The demo cycles were already there; nothing changed.")
    click.echo("Demo accounts (password for all: %s):" % demo.DEMO_PASSWORD)
    for email, role in demo.demo_accounts():
        click.echo(f"  {role:<10} {email}")


@pb_group.command("create-user")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.RESIDENT.value, show_default=True)
@click.password_option()
def create_user(email: str, name: str, role: str, password: str) -> None:
    """Create an account with the given role (the server operator's way in; logged as made on the command line).

    This is how the first officials are made; later ones are better proposed and approved by two officials on the web.
    """
    try:
        user = users.create_user(email, name, password, Role(role))
    except DomainError as error:
        raise _fail(error) from None
    click.echo(f"Created {user.role.value} {user.email} (id {user.id}).")


@pb_group.command("advance-phase")
@click.argument("cycle_id", type=int)
@click.option("--expect-phase", type=click.Choice([phase.value for phase in Phase]),
              help="The phase the cycle is in now, as you last saw it (see list-cycles); required.")
@click.option("--reason", default="",
              help="Why the cycle moves on another day than the published one; required to open or close voting "
                   "off the timetable. Kept in the audit log and shown on the cycle's public page.")
def advance_phase(cycle_id: int, expect_phase: str | None, reason: str) -> None:
    """Move a cycle to its next phase, or list what blocks it."""
    if expect_phase is None:
        # Said here rather than by click, to name the phase to expect: a repeated command must not move on twice.
        try:
            now = cycles.get_cycle(cycle_id).phase.value
        except DomainError as error:
            raise _fail(error) from None
        raise click.ClickException(
            f"Say which phase you expect cycle {cycle_id} to be in with --expect-phase (it is now in: {now}), "
            "so that running the command twice cannot move it on twice."
        )
    try:
        phase = cycles.advance_phase(None, cycle_id, expect_phase, reason)
    except DomainError as error:
        message = error.message
        if isinstance(error, ValidationError) and not reason.strip():
            message += " Give it with --reason."
        raise click.ClickException(message) from None
    click.echo(f"Cycle {cycle_id} is now in phase: {phase.value}.")


@pb_group.command("list-cycles")
def list_cycles() -> None:
    """List every cycle with its id and phase."""
    for cycle in cycles.list_cycles(include_drafts=True):
        click.echo(f"{cycle.id:>4}  {cycle.phase.value:<10} {cycle.name}")


@pb_group.command("audit-verify")
@click.option("--expect", "heads", multiple=True, metavar="HEAD",
              help="A head noted earlier (as published at a phase change): it must still be in the chain, and the "
                   "chain must go on correctly from it. May be given more than once.")
def audit_verify(heads: tuple[str, ...]) -> None:
    """Check the audit log's keyed hash chain and name the first broken entry."""
    try:
        expected = [audit.expected_head(head) for head in heads]
    except DomainError as error:
        raise _fail(error) from None
    check = audit.verify_chain(expected)
    if not check.is_intact:
        first, *later = check.problems
        message = f"The audit log is broken. {first}"
        if later:
            shown = later[:20]
            message += "\nFurther problems after it:" + "".join(f"\n  {problem}" for problem in shown)
            if len(later) > len(shown):
                message += f"\n  ... and {len(later) - len(shown)} more."
        raise click.ClickException(message)
    if check.entry_count == 0:
        click.echo("The audit log is empty: there is nothing to check yet.")
        return
    click.echo(f"The audit log is intact: {check.entry_count} entries, last hash {check.last_hash}.")
    if check.unkeyed_count:
        click.echo(f"Entries 1 to {check.unkeyed_count} were written before the log was keyed; the keyed entry "
                   "after them anchors them.")
    for found in check.found_heads:
        click.echo(f"Expected head {found.head[:16]}… is entry {found.sequence} ({found.label}); the chain goes on "
                   f"correctly from it through {found.later_entries} later entries.")


@pb_group.command("audit-seal")
def audit_seal() -> None:
    """Append a keyed entry now (anchors entries written before the log was keyed) and print the new head."""
    entry = audit.seal()
    click.echo(f"Added audit entry {entry.sequence}; the log's head is now {entry.entry_hash}.")


@pb_group.command("backup")
@click.argument("destination", type=click.Path(dir_okay=False, path_type=Path))
def backup(destination: Path) -> None:
    """Write a consistent copy of the (SQLite) database to a new file; pb may keep running."""
    try:
        size = database.backup(destination)
    except DomainError as error:
        raise _fail(error) from None
    click.echo(f"Backed up the database to {destination} ({size // 1024} KB).")


@pb_group.command("restore")
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Confirm that the current data is to be replaced.")
def restore(source: Path, yes: bool) -> None:
    """Replace the (SQLite) database with a backup; stop the server first."""
    if not yes:
        raise click.ClickException(
            "Restoring replaces everything in the database with the backup. Stop pb, then run this again with --yes."
        )
    try:
        database.restore(source)
    except DomainError as error:
        raise _fail(error) from None
    check = audit.verify_chain()
    state = "intact" if check.is_intact else "BROKEN: " + check.problems[0]
    click.echo(f"Restored the database from {source}. The audit log in it is {state} ({check.entry_count} entries).")


@pb_group.command("worker")
@click.option("--once", is_flag=True, help="Run every job once, then exit (for cron or a check).")
@click.option("--interval", type=click.FloatRange(min=0.1), default=None,
              help="Seconds between rounds (default: PB_WORKER_INTERVAL_SECONDS).")
def worker_command(once: bool, interval: float | None) -> None:
    """Run the background worker: deliver email, move phases at the timetable's times, send reminders."""
    from pb import worker

    app = current_app._get_current_object()
    worker.run(app, interval or float(app.config["WORKER_INTERVAL_SECONDS"]), once=once, echo=click.echo)


@pb_group.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=5000, show_default=True)
def serve(host: str, port: int) -> None:
    """Serve pb for development with its worker beside it; Ctrl-C stops both. Production uses gunicorn + worker."""
    import signal
    import subprocess  # nosec B404  (starts our own worker with our own interpreter; no shell, no outside input)
    import sys

    from flask.cli import ScriptInfo
    from werkzeug.serving import run_simple

    if is_production(current_app.config):
        raise click.ClickException(
            "`pb serve` is the development server. In production run gunicorn and `flask --app app pb worker` "
            "as two services (README, Deploying)."
        )
    info = click.get_current_context().find_object(ScriptInfo)
    app_path = (info.app_import_path if info and info.app_import_path else None) or "app"
    worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", app_path, "pb", "worker"])  # nosec B603

    def stop_serving(_signum, _frame) -> None:
        raise KeyboardInterrupt  # the development server stops on it as on Ctrl-C, and the worker is stopped below

    signal.signal(signal.SIGTERM, stop_serving)
    try:
        # Werkzeug's server itself: Flask ignores app.run() inside a `flask` command.
        run_simple(host, port, current_app._get_current_object(), threaded=True)
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()


@pb_group.command("send-test-mail")
@click.option("--to", "address", required=True, help="The address to send a test message to.")
def send_test_mail(address: str) -> None:
    """Write a test message to the outbox; the worker delivers it (check the setup before residents rely on it)."""
    from pb import mail as mail_server
    from pb.services import mail

    try:
        mail.queue_test_message(address, mail_server.describe())
    except DomainError as error:
        raise _fail(error) from None
    click.echo(f"A test message to {address} is in the outbox; the worker sends it through {mail_server.describe()}.")


@pb_group.command("i18n-extract")
def i18n_extract() -> None:
    """Re-extract pb/translations/messages.pot from the source and merge it into every language's .po."""
    count, updated = catalogues.update_all()
    click.echo(f"Extracted {count} messages; updated: {', '.join(updated) or 'no language'}.")


@pb_group.command("i18n-compile")
def i18n_compile() -> None:
    """Compile every language's .po into the .mo file pb reads (commit both)."""
    compiled = catalogues.compile_all()
    click.echo(f"Compiled: {', '.join(compiled) or 'no language'}.")


def init_app(app: Flask) -> None:
    app.cli.add_command(pb_group)
