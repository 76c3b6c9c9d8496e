"""access notifications: NOTIFY hub_access on every write to what a pull's token is decided from

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08 05:00:00.000000

Each hub process keeps the rows of a pull's access check (``services/accesscache.py``) until
one of the tables they come from changes. On PostgreSQL, statement triggers on those tables
send ``NOTIFY hub_access`` (delivered when the transaction commits, once per transaction
however many statements sent it) to every process listening. Updates of columns the check
does not read (a repository's pull count, a user's last login) send nothing. SQLite has no
``NOTIFY``: nothing is kept there, so there is nothing to do.
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

FUNCTION = "hub_access_changed"
EVENTS = {  # table -> its SQL events (UPDATE OF: only the columns the check reads)
    "users": ("INSERT", "DELETE", "TRUNCATE", "UPDATE OF id, username, password_hash, is_active, is_admin"),
    "login_throttle": ("INSERT", "DELETE", "TRUNCATE", "UPDATE"),
    "access_tokens": ("INSERT", "DELETE", "TRUNCATE", "UPDATE"),
    "repositories": ("INSERT", "DELETE", "TRUNCATE", "UPDATE OF id, namespace, name, is_private"),
    "organizations": ("INSERT", "DELETE", "TRUNCATE", "UPDATE OF id, name"),
    "organization_members": ("INSERT", "DELETE", "TRUNCATE", "UPDATE"),
    "collaborators": ("INSERT", "DELETE", "TRUNCATE", "UPDATE"),
    "repository_images": ("INSERT", "DELETE", "TRUNCATE", "UPDATE"),
}


def _trigger(table: str, event: str) -> str:
    return f"hub_access_{table}_{event.split()[0].lower()}"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        f"CREATE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN PERFORM pg_notify('hub_access', ''); RETURN NULL; END $$"
    )
    for table, events in EVENTS.items():
        for one in events:
            op.execute(
                f"CREATE TRIGGER {_trigger(table, one)} AFTER {one} ON {table} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, events in EVENTS.items():
        for one in events:
            op.execute(f"DROP TRIGGER IF EXISTS {_trigger(table, one)} ON {table}")
    op.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}()")
