"""Store rules: discount codes, shipping rates, free-shipping rules, customers and addresses

Revision ID: 0006_store_rules
Revises: 0005_merge
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_store_rules"
down_revision: str | None = "0005_merge"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _when(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=True)


def upgrade() -> None:
    op.create_table(
        "discount_codes",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("code", sa.String(length=255), nullable=False),
        sa.Column("title", sa.String(length=512), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("percent_bps", sa.Integer(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("stackable", sa.Boolean(), nullable=False),
        sa.Column("min_subtotal_minor", sa.BigInteger(), nullable=True),
        sa.Column("product_ids", sa.JSON(), nullable=True),
        _when("starts_at"),
        _when("ends_at"),
        sa.Column("usage_limit", sa.Integer(), nullable=True),
        sa.Column("times_used", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_discount_codes")),
        sa.UniqueConstraint("code", name=op.f("uq_discount_codes_code")),
    )
    op.create_index(op.f("ix_discount_codes_source"), "discount_codes", ["source"])
    op.create_table(
        "shipping_rates",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("service_level", sa.String(length=64), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("min_days", sa.Integer(), nullable=True),
        sa.Column("max_days", sa.Integer(), nullable=True),
        sa.Column("carrier", sa.String(length=255), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipping_rates")),
    )
    op.create_index(op.f("ix_shipping_rates_country"), "shipping_rates", ["country"])
    op.create_index(op.f("ix_shipping_rates_source"), "shipping_rates", ["source"])
    op.create_table(
        "free_shipping_rules",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("title", sa.String(length=512), nullable=False),
        sa.Column("min_subtotal_minor", sa.BigInteger(), nullable=True),
        sa.Column("product_ids", sa.JSON(), nullable=True),
        sa.Column("service_levels", sa.JSON(), nullable=True),
        sa.Column("countries", sa.JSON(), nullable=True),
        _when("starts_at"),
        _when("ends_at"),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_free_shipping_rules")),
    )
    op.create_index(op.f("ix_free_shipping_rules_source"), "free_shipping_rules", ["source"])
    op.create_table(
        "customers",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("first_name", sa.String(length=255), nullable=False),
        sa.Column("last_name", sa.String(length=255), nullable=False),
        sa.Column("phone", sa.String(length=64), nullable=True),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
        sa.UniqueConstraint("email", name=op.f("uq_customers_email")),
    )
    op.create_index(op.f("ix_customers_source"), "customers", ["source"])
    op.create_table(
        "customer_addresses",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("customer_id", sa.String(length=255), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("full_name", sa.String(length=255), nullable=True),
        sa.Column("street_address", sa.String(length=512), nullable=False),
        sa.Column("extended_address", sa.String(length=512), nullable=True),
        sa.Column("locality", sa.String(length=255), nullable=False),
        sa.Column("region", sa.String(length=255), nullable=False),
        sa.Column("postal_code", sa.String(length=64), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("phone", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_addresses_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_addresses")),
    )
    op.create_index(
        op.f("ix_customer_addresses_customer_id"), "customer_addresses", ["customer_id"]
    )


def downgrade() -> None:
    op.drop_table("customer_addresses")
    op.drop_table("customers")
    op.drop_table("free_shipping_rules")
    op.drop_table("shipping_rates")
    op.drop_table("discount_codes")
