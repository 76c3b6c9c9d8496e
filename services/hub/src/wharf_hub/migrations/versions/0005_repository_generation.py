"""repository generation: a counter every write to what search shows bumps, kept by triggers

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 23:10:00.000000

Search results are cached per process, keyed by this counter, so the counter must move with
every change that could change a result, whoever makes it (any process, any code path, a
foreign key's cascade): triggers on ``repositories`` (every column but ``pull_count``, which
search does not show and which changes on every pull), on ``collaborators`` (who sees a private
repository) and on ``stars`` (a star is followed by its count). On PostgreSQL they run before
each statement, so a transaction takes the counter's row lock before the repository row locks
of that statement, and a star, whose insert locks its repository's key before the count's
update, takes it before both: writers lock in one order and cannot deadlock on the counter.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

COUNTED = (
    "namespace, name, owner_id, description, full_description, is_private, is_unlisted, "
    "is_official, is_automated, star_count, created_at, updated_at"
)
BUMP = "UPDATE hub_generations SET value = value + 1 WHERE name = 'repositories'"
EVENTS = {  # trigger suffix -> (table, SQL event)
    "repositories_insert": ("repositories", "INSERT"),
    "repositories_update": ("repositories", f"UPDATE OF {COUNTED}"),
    "repositories_delete": ("repositories", "DELETE"),
    "collaborators_change": ("collaborators", "INSERT OR UPDATE OR DELETE"),
    "stars_change": ("stars", "INSERT OR DELETE"),
}


def upgrade() -> None:
    op.create_table(
        "hub_generations",
        sa.Column("name", sa.String(length=40), primary_key=True),
        sa.Column("value", sa.BigInteger(), nullable=False, server_default="0"),
    )
    op.execute("INSERT INTO hub_generations (name, value) VALUES ('repositories', 1)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION hub_bump_repositories() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN {BUMP}; RETURN NULL; END $$"
        )
        for suffix, (table, events) in EVENTS.items():
            for one in events.split(" OR "):  # PostgreSQL's OR list takes no column list inside
                op.execute(
                    f"CREATE TRIGGER hub_gen_{suffix}_{one.split()[0].lower()} BEFORE {one} ON {table} "
                    "FOR EACH STATEMENT EXECUTE FUNCTION hub_bump_repositories()"
                )
        return
    for suffix, (table, events) in EVENTS.items():
        for one in events.split(" OR "):  # SQLite: one event per trigger, row triggers only
            op.execute(
                f"CREATE TRIGGER hub_gen_{suffix}_{one.split()[0].lower()} AFTER {one} ON {table} "
                f"BEGIN {BUMP}; END"
            )


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for suffix, (table, events) in EVENTS.items():
        for one in events.split(" OR "):
            name = f"hub_gen_{suffix}_{one.split()[0].lower()}"
            op.execute(
                f"DROP TRIGGER IF EXISTS {name} ON {table}" if postgres else f"DROP TRIGGER IF EXISTS {name}"
            )
    if postgres:
        op.execute("DROP FUNCTION IF EXISTS hub_bump_repositories()")
    op.drop_table("hub_generations")
