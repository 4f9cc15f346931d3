"""SQLAlchemy 2.0 typed models. The schema itself is created only by Alembic migrations."""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on both SQLite (which keeps no zone) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


# --- organisation and people -------------------------------------------------------------

ORG_KINDS = ("district", "street", "community", "compound")


class OrgUnit(Base):
    """District → street → community → compound. `path` ("D1/S1/C1/X1/") makes jurisdiction a prefix test."""

    __tablename__ = "org_unit"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    path: Mapped[str] = mapped_column(String(400), index=True)
    doc_prefix: Mapped[str | None] = mapped_column(String(20))  # 机关代字 in its document numbers (GB/T 9704 §7.2.4)

    parent: Mapped[OrgUnit | None] = relationship(remote_side=[id])


class OrgSeal(Base):
    """An organisation's electronic seal image, placed over issuer and date on its notices."""

    __tablename__ = "org_seal"
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), primary_key=True)
    content_type: Mapped[str] = mapped_column(String(40))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class User(Base):
    __tablename__ = "app_user"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(40))
    jurisdiction_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)  # no login attempt before this
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Carried in the session cookie; raising it ends every session of the user.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    jurisdiction: Mapped[OrgUnit | None] = relationship()


class LoginThrottle(Base):
    """Failed logins per client address: past a small allowance each failure delays the next
    attempt from that address a little longer."""

    __tablename__ = "login_throttle"
    address: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ApiToken(Base):
    """Per-integration token (e.g. the 12345 hotline). Only a sha256 of the secret is kept."""

    __tablename__ = "api_token"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(64))
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SettingVersion(Base):
    """Versioned, per-organisation configuration as data: negative-list grounds, the prior-review
    matter catalogue, mediation deadlines. Rows are never changed; a new version is a new row."""

    __tablename__ = "setting_version"
    __table_args__ = (UniqueConstraint("key", "org_unit_id", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64))
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    version: Mapped[int] = mapped_column(Integer)
    value: Mapped[str] = mapped_column(Text)  # JSON
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


# --- processes, cases, tasks, timers ------------------------------------------------------


class ProcessDefinition(Base):
    __tablename__ = "process_definition"
    __table_args__ = (UniqueConstraint("key", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[str] = mapped_column(Text)  # JSON: {"bpmn": {name: xml}, "dmn": {...}, "forms": {...}}
    deployed_by: Mapped[str] = mapped_column(String(64))
    deployed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Case(Base):
    """A process instance. `state` is the SpiffWorkflow serialization without the spec."""

    __tablename__ = "process_case"
    __table_args__ = (
        UniqueConstraint("external_source", "external_ref"),
        Index("ix_case_org_status", "org_path", "status"),
        # Prefix LIKE on org_path under a non-C collation needs pattern ops (migration 0015).
        Index("ix_case_process_org_prefix", "process_key", "org_path", postgresql_ops={"org_path": "varchar_pattern_ops"}),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_number: Mapped[str] = mapped_column(String(40), unique=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definition.id"))
    process_key: Mapped[str] = mapped_column(String(100), index=True)
    compound_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    org_path: Mapped[str] = mapped_column(String(400))
    title: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(16))  # running | completed | cancelled | error
    state: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text, default="{}")  # JSON of reportable facts
    version: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    external_source: Mapped[str | None] = mapped_column(String(64))
    external_ref: Mapped[str | None] = mapped_column(String(128))
    # Days an administrator moved this case's clock forward; only ever non-zero in a training database.
    clock_offset_days: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    definition: Mapped[ProcessDefinition] = relationship()
    compound: Mapped[OrgUnit] = relationship()


class DeploymentFlag(Base):
    """A flag fixed when the database was created; the row named "training" makes it a training
    database (banner on every page, simulated case clocks)."""

    __tablename__ = "deployment_flag"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    set_by: Mapped[str] = mapped_column(String(64))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CaseSearch(Base):
    """One searchable text per case (engine/runtime/search.py); migration 0010 adds the trigram
    index: an FTS5 `trigram` table on SQLite, a `pg_trgm` GIN index on PostgreSQL."""

    __tablename__ = "case_search"
    case_id: Mapped[int] = mapped_column(ForeignKey("process_case.id", ondelete="CASCADE"), primary_key=True)
    body: Mapped[str] = mapped_column(Text)


class DeadlinePeriod:
    """What a row's due time was counted from (see engine.domain.periods.Period), kept so that a
    newly loaded holiday schedule can count it again; `due_note` says when it rests on the
    statutory fallback calendar. All NULL when the due time is not a counted period."""

    period_trigger: Mapped[str | None] = mapped_column(String(10))
    period_days: Mapped[int | None] = mapped_column(Integer)
    period_months: Mapped[int | None] = mapped_column(Integer)
    period_years: Mapped[int | None] = mapped_column(Integer)
    period_kind: Mapped[str | None] = mapped_column(String(32))
    due_note: Mapped[str | None] = mapped_column(String(300))


class HumanTask(DeadlinePeriod, Base):
    """Derived from the workflow on every save: one row per ready user/manual task."""

    __tablename__ = "human_task"
    __table_args__ = (Index("ix_task_role_org", "role", "org_path"),
                      Index("ix_task_role_due", "role", "due_at", "created_at"),
                      Index("ix_task_role_created", "role", "created_at"),
                      # Prefix LIKE on org_path under a non-C collation needs pattern ops (migration 0015).
                      Index("ix_task_org_prefix", "org_path", "role", "due_at",
                            postgresql_ops={"org_path": "varchar_pattern_ops"}))
    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # SpiffWorkflow task uuid
    case_id: Mapped[int] = mapped_column(ForeignKey("process_case.id", ondelete="CASCADE"), index=True)
    spec_name: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(200))
    lane: Mapped[str | None] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(40))
    form: Mapped[str | None] = mapped_column(String(200))
    org_path: Mapped[str] = mapped_column(String(400))
    compound_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    process_key: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    case: Mapped[Case] = relationship()


class Timer(DeadlinePeriod, Base):
    """Derived from the workflow on every save: one row per waiting timer event."""

    __tablename__ = "timer"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # SpiffWorkflow task uuid
    case_id: Mapped[int] = mapped_column(ForeignKey("process_case.id", ondelete="CASCADE"), index=True)
    spec_name: Mapped[str] = mapped_column(String(100))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


# --- audit ------------------------------------------------------------------------------


class AuditEvent(Base):
    """Append-only; one hash chain per case (chain "case:<number>"), others per subject."""

    __tablename__ = "audit_event"
    __table_args__ = (UniqueConstraint("chain", "seq"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    chain: Mapped[str] = mapped_column(String(100))
    seq: Mapped[int] = mapped_column(Integer)
    case_id: Mapped[int | None] = mapped_column(Integer, index=True)  # no FK: history outlives rows
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    task_id: Mapped[str | None] = mapped_column(String(36), index=True)
    task_name: Mapped[str | None] = mapped_column(String(200))
    data_before: Mapped[str | None] = mapped_column(Text)  # canonical JSON
    data_after: Mapped[str | None] = mapped_column(Text)  # canonical JSON
    detail: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[str] = mapped_column(String(40))  # ISO-8601 UTC, exactly as hashed
    prev_hash: Mapped[str] = mapped_column(String(64))
    row_hash: Mapped[str] = mapped_column(String(64))
    # Hash of the case row (version, status, state) right after the change this event records;
    # NULL for events that change no case state (then it takes no part in row_hash).
    state_hash: Mapped[str | None] = mapped_column(String(64))
    # HMAC of row_hash under a key kept outside the database: a rehashed or forged row can't carry one.
    seal: Mapped[str | None] = mapped_column(String(64))


class AuditCheckpoint(Base):
    """A signed Merkle root over the heads of all chains (see engine.audit). `body` is the exact
    canonical JSON that was signed; the other columns repeat parts of it for listing."""

    __tablename__ = "audit_checkpoint"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[str] = mapped_column(String(40))
    last_event_id: Mapped[int] = mapped_column(BigInteger)
    events: Mapped[int] = mapped_column(BigInteger)
    chains: Mapped[int] = mapped_column(Integer)
    merkle_root: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    signature: Mapped[str] = mapped_column(String(128))
    public_key: Mapped[str] = mapped_column(String(64))


# --- documents and files ----------------------------------------------------------------


class Document(Base):
    """A rendered notice (PDF). Immutable; a correction is a new row naming the one it replaces.
    `doc_year`/`doc_seq` are the parts of its number; the database keeps them unique per issuer."""

    __tablename__ = "document"
    __table_args__ = (Index("uq_document_issuer_year_seq", "issuer", "doc_year", "doc_seq", unique=True),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("process_case.id"), index=True)
    kind: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(300))
    issuer: Mapped[str] = mapped_column(String(200))
    doc_number: Mapped[str | None] = mapped_column(String(64))
    doc_year: Mapped[int | None] = mapped_column(Integer)
    doc_seq: Mapped[int | None] = mapped_column(Integer)
    issued_on: Mapped[str] = mapped_column(String(10))  # YYYY-MM-DD, civil date
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(Integer)
    pages: Mapped[int] = mapped_column(Integer, default=1)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    verification_code: Mapped[str] = mapped_column(String(32), unique=True)
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("document.id"))
    context: Mapped[str] = mapped_column(Text, default="{}")  # JSON used to render it
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DocumentRevocation(Base):
    """A document withdrawn by a supervisor, with the reason residents see on the verify page."""

    __tablename__ = "document_revocation"
    document_id: Mapped[int] = mapped_column(ForeignKey("document.id"), primary_key=True)
    reason: Mapped[str] = mapped_column(Text)
    revoked_by: Mapped[str] = mapped_column(String(64))
    revoked_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Attachment(Base):
    """A file uploaded with a task form, kept with its sha256."""

    __tablename__ = "attachment"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("process_case.id"), index=True)
    task_id: Mapped[str | None] = mapped_column(String(36))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


# Tables of other areas on the same Base, imported last because they refer to the classes above:
# claims and comments, notifications, jobs (async steps of cases), the vote register.
# Imported as modules, not names, so that importing one of them first (a benchmark importing
# engine.db.vote_models) finds this module's classes and does not trip over a half-made module.
from . import job_models, notification_models, vote_models, worklist_models  # noqa: E402,F401
