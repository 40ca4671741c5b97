"""`flask --app app pb ...`: thin command-line wrappers over the services."""

from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

from pb import catalogues, database
from pb.database import upgrade_schema
from pb.domain.errors import DomainError
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
def advance_phase(cycle_id: int) -> None:
    """Move a cycle to its next phase, or list what blocks it."""
    try:
        phase = cycles.advance_phase(None, cycle_id)
    except DomainError as error:
        raise _fail(error) from None
    click.echo(f"Cycle {cycle_id} is now in phase: {phase.value}.")


@pb_group.command("list-cycles")
def list_cycles() -> None:
    """List every cycle with its id and phase."""
    for cycle in cycles.list_cycles(include_drafts=True):
        click.echo(f"{cycle.id:>4}  {cycle.phase.value:<10} {cycle.name}")


@pb_group.command("audit-verify")
def audit_verify() -> None:
    """Check the audit log's hash chain and name the first broken entry."""
    check = audit.verify_chain()
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
