"""Tests of the use cases, each against SQLite and (when configured) PostgreSQL."""
