"""Alembic's entry point for `flask --app app db ...`: migrate the app's own database with the models' metadata."""

import logging

from alembic import context
from flask import current_app

logger = logging.getLogger("alembic.env")
config = context.config
migrate = current_app.extensions["migrate"]
metadata = migrate.db.metadata
# The app's configured engine, connect arguments (e.g. a PostgreSQL search_path) included.
engine = migrate.db.engine


def _skip_empty_autogenerate(migration_context, revision, directives) -> None:  # noqa: ARG001
    # `flask db migrate` with no model change should not write an empty revision file.
    if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
        directives[:] = []
        logger.info("No changes in the schema were detected.")


def run_offline() -> None:
    """Print the SQL instead of running it (`flask db upgrade --sql`), e.g. for a database administrator to review."""
    context.configure(
        url=engine.url.render_as_string(hide_password=False), target_metadata=metadata, literal_binds=True,
        **{key: value for key, value in migrate.configure_args.items() if key != "process_revision_directives"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    options = dict(migrate.configure_args)
    options.setdefault("process_revision_directives", _skip_empty_autogenerate)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=metadata, **options)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
