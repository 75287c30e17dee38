"""review app: server-side sessions; the queue's stored severity rank and the queue's indexes

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 10:45:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

# The worst severity of each score's findings, as callqc.db.models.SEVERITY_RANK ranks them.
BACKFILL_SEVERITY_RANK = """
UPDATE call_scores SET severity_rank = COALESCE((
    SELECT MAX(CASE findings.severity WHEN 'critical' THEN 4 WHEN 'major' THEN 3 WHEN 'minor' THEN 2
                                      WHEN 'info' THEN 1 ELSE 0 END)
    FROM findings WHERE findings.call_score_id = call_scores.id), 0)
"""


def upgrade() -> None:
    op.create_table('web_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('client_ip', sa.String(length=64), nullable=True),
    sa.Column('user_agent', sa.String(length=256), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('unmasked', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_web_sessions_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('call_scores', schema=None) as batch_op:
        batch_op.add_column(sa.Column('severity_rank', sa.Integer(), server_default='0', nullable=False))
    op.execute(BACKFILL_SEVERITY_RANK)
    with op.batch_alter_table('call_scores', schema=None) as batch_op:
        batch_op.create_index('ix_call_scores_queue_order',
                              ['flagged', sa.text('fatal DESC'), sa.text('severity_rank DESC'), 'score'], unique=False)
        batch_op.create_index('ix_call_scores_queue_counts', ['flagged', 'review_status', 'recording_id'],
                              unique=False)
    with op.batch_alter_table('findings', schema=None) as batch_op:
        batch_op.create_index('ix_findings_queue_rule', ['rule_id', 'call_score_id'], unique=False)
        batch_op.create_index('ix_findings_queue_category', ['category', 'call_score_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('findings', schema=None) as batch_op:
        batch_op.drop_index('ix_findings_queue_category')
        batch_op.drop_index('ix_findings_queue_rule')

    with op.batch_alter_table('call_scores', schema=None) as batch_op:
        batch_op.drop_index('ix_call_scores_queue_counts')
        batch_op.drop_index('ix_call_scores_queue_order')
        batch_op.drop_column('severity_rank')

    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_web_sessions_user_id'))

    op.drop_table('web_sessions')
