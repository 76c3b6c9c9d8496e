"""account security: token scopes and expiry, reset links bound to the password, login
throttle per account and source, mail quotas, tombstones for deleted account names

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07 17:32:19.735539
"""

from __future__ import annotations

import sqlalchemy as sa
import wharf_hub.db.base
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _throttle(*columns: sa.Column[object]) -> None:
    """The login throttle holds only short-lived counters: it is made anew, not converted."""
    op.drop_table("login_throttle")
    op.create_table(
        "login_throttle",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        *columns,
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_throttle")),
    )


def upgrade() -> None:
    op.create_table(
        "mail_quota",
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("window_start", wharf_hub.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_mail_quota")),
    )
    op.create_table(
        "name_tombstones",
        sa.Column("name", sa.String(length=30), nullable=False),
        sa.Column("created_at", wharf_hub.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_name_tombstones")),
    )
    with op.batch_alter_table("access_tokens", schema=None) as batch_op:
        # tokens made before scopes keep what they could do, except changing the account
        batch_op.add_column(
            sa.Column("scopes", sa.String(length=100), nullable=False, server_default="read,write,delete")
        )
        batch_op.add_column(
            sa.Column("expires_at", wharf_hub.db.base.UtcDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("email_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fingerprint", sa.String(length=64), nullable=False, server_default=""))
    # reset links made before they were bound to the password are no longer honoured
    op.execute("UPDATE email_tokens SET used_at = expires_at WHERE purpose = 'reset' AND used_at IS NULL")
    _throttle(
        sa.Column("last_failure_at", wharf_hub.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("blocked_until", wharf_hub.db.base.UtcDateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    _throttle(sa.Column("window_start", wharf_hub.db.base.UtcDateTime(timezone=True), nullable=False))
    with op.batch_alter_table("email_tokens", schema=None) as batch_op:
        batch_op.drop_column("fingerprint")
    with op.batch_alter_table("access_tokens", schema=None) as batch_op:
        batch_op.drop_column("expires_at")
        batch_op.drop_column("scopes")
    op.drop_table("name_tombstones")
    op.drop_table("mail_quota")
