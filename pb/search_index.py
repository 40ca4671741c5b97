"""What each database engine needs for full-text search over proposals, outside the models' own tables.

PostgreSQL: a stored generated `search_vector` column (to_tsvector with the 'simple' configuration: lower case, no
stemming, so it treats every language alike) and a GIN index on it. SQLite: an external-content FTS5 table
`proposals_fts` kept in step with `proposals` by three triggers. Both are made by `register` when the schema is built
from the models (tests) and by the search migration; neither is a model, so autogenerate and the migration tests skip
them through `is_managed_by_models`.
"""

from sqlalchemy import DDL, Table, event

FTS_TABLE = "proposals_fts"
VECTOR_COLUMN = "search_vector"
VECTOR_INDEX = "ix_proposals_search_vector"

POSTGRESQL_CREATE = (
    f"ALTER TABLE proposals ADD COLUMN {VECTOR_COLUMN} tsvector GENERATED ALWAYS AS (to_tsvector('simple', "
    "coalesce(title, '') || ' ' || coalesce(summary, '') || ' ' || coalesce(description, ''))) STORED",
    f"CREATE INDEX {VECTOR_INDEX} ON proposals USING gin ({VECTOR_COLUMN})",
)
POSTGRESQL_DROP = (
    f"DROP INDEX IF EXISTS {VECTOR_INDEX}",
    f"ALTER TABLE proposals DROP COLUMN IF EXISTS {VECTOR_COLUMN}",
)

_FTS_COLUMNS = "title, summary, description"
_DELETE_OLD = (f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, {_FTS_COLUMNS}) "
               "VALUES ('delete', old.id, old.title, old.summary, old.description);")
_INSERT_NEW = f"INSERT INTO {FTS_TABLE}(rowid, {_FTS_COLUMNS}) VALUES (new.id, new.title, new.summary, new.description);"
SQLITE_CREATE = (
    # unicode61 folds case and removes diacritics, so "cafe" finds "Café"; no stemming, like PostgreSQL's 'simple'.
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5({_FTS_COLUMNS}, content='proposals', "
    "content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    f"CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_insert AFTER INSERT ON proposals BEGIN {_INSERT_NEW} END",
    f"CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_delete AFTER DELETE ON proposals BEGIN {_DELETE_OLD} END",
    f"CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_update AFTER UPDATE OF title, summary, description ON proposals "
    f"BEGIN {_DELETE_OLD} {_INSERT_NEW} END",
    # Fills the index from the rows already there (a migration on a database with proposals).
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')",
)
SQLITE_DROP = (
    f"DROP TRIGGER IF EXISTS {FTS_TABLE}_insert",
    f"DROP TRIGGER IF EXISTS {FTS_TABLE}_delete",
    f"DROP TRIGGER IF EXISTS {FTS_TABLE}_update",
    f"DROP TABLE IF EXISTS {FTS_TABLE}",
)


def statements_to_create(dialect: str) -> tuple[str, ...]:
    return {"postgresql": POSTGRESQL_CREATE, "sqlite": SQLITE_CREATE}.get(dialect, ())


def statements_to_drop(dialect: str) -> tuple[str, ...]:
    return {"postgresql": POSTGRESQL_DROP, "sqlite": SQLITE_DROP}.get(dialect, ())


def register(proposals: Table) -> None:
    """Build the search index whenever the proposals table is created from the models, and drop it with the table."""
    for dialect, creating, dropping in (("postgresql", POSTGRESQL_CREATE, ()), ("sqlite", SQLITE_CREATE, SQLITE_DROP)):
        for statement in creating:
            event.listen(proposals, "after_create", DDL(statement).execute_if(dialect=dialect))
        for statement in dropping:
            event.listen(proposals, "before_drop", DDL(statement).execute_if(dialect=dialect))


def is_managed_by_models(name: str | None, type_: str, parent_names: dict) -> bool:
    """Alembic's include_name: leave the search index's own table, column and index out of model comparisons."""
    if type_ == "table":
        return not (name or "").startswith(FTS_TABLE)
    if type_ == "column":
        return name != VECTOR_COLUMN
    if type_ == "index":
        return name != VECTOR_INDEX
    return True
