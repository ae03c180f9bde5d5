"""Two indexes for the search of people by name: trigrams, and the name's words (PostgreSQL only).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02

Reviewed: `pg_trgm` is a trusted contrib extension (PostgreSQL ≥ 13: a database owner may create
it). The GIN trigram index on `beneficiary.search_name` serves the substring LIKEs of
app/pathways/search.py; the GIN index on its words (`string_to_array(search_name, ' ')`, an
immutable expression) finds the names one edit from a typo by their list of neighbours (`&&`).
Both without a pending list (fastupdate off): people are written
rarely and searched all day, and each search would otherwise scan up to 4 MB of unsorted entries
until a vacuum merges them. SQLite gets nothing: it has no trigrams and keeps scanning (the
model declares the index with `ddl_if(dialect='postgresql')`). The downgrade drops the index but
keeps the extension, which may predate this revision or serve other objects.
Built without CONCURRENTLY (Alembic runs in a transaction): at 1 M people they take about a minute
during which writes to `beneficiary` wait; run it at a quiet hour.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
    op.create_index(
        'ix_beneficiary_search_words', 'beneficiary', [sa.text("string_to_array(search_name, ' ')")], unique=False,
        postgresql_using='gin', postgresql_with={'fastupdate': 'off'},
    )
    op.create_index(
        'ix_beneficiary_search_trgm', 'beneficiary', ['search_name'], unique=False,
        postgresql_using='gin', postgresql_ops={'search_name': 'gin_trgm_ops'},
        postgresql_with={'fastupdate': 'off'},
    )


def downgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.drop_index('ix_beneficiary_search_trgm', table_name='beneficiary', postgresql_using='gin')
    op.drop_index('ix_beneficiary_search_words', table_name='beneficiary', postgresql_using='gin')
