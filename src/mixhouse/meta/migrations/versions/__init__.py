"""Alembic revisions of the metadata store (loaded by Alembic from their files, in revision order)."""
