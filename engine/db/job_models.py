"""Jobs: work that runs off the request path, on the worker.

A *continuation* job is derived from the workflow like a timer row: one per ready activity marked
`hongwu:async`, written in the save that reached it and deleted by the save that ran it. Jobs of
other kinds (a large owner-roll import, a bulk audit export: `engine.runtime.jobs.register_kind`)
are queued by a person, carry their parameters and, once done, their result (and result file) on
the row; `case_id` is set when the job belongs to a case. Every kind shares the bookkeeping:
attempts and back-off, the lease of the worker running it, its progress, and — once the attempts
are spent — the incident an operator retries (or, for a continuation, skips).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, UTCDateTime

JOB_STATES = ("pending", "incident", "done")  # "done": kinds other than continuations keep their row
CONTINUATION = "continuation"


class Job(Base):
    __tablename__ = "job"
    __table_args__ = (Index("ix_job_claimable", "status", "run_at"),
                      Index("ix_job_triggered_by", "triggered_by", "created_at"))
    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # SpiffWorkflow task uuid
    kind: Mapped[str] = mapped_column(String(32), default=CONTINUATION, server_default=CONTINUATION)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("process_case.id", ondelete="CASCADE"), index=True)
    spec_name: Mapped[str] = mapped_column(String(100))  # BPMN element id
    title: Mapped[str] = mapped_column(String(200))  # the element's name, as people know the step
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # failed attempts so far
    max_attempts: Mapped[int] = mapped_column(Integer)
    skippable: Mapped[int] = mapped_column(Integer, default=0)  # the process allows 跳过
    run_at: Mapped[datetime] = mapped_column(UTCDateTime)  # not before (back-off)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    triggered_by: Mapped[str] = mapped_column(String(64))  # whose change reached the step
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    progress_done: Mapped[int] = mapped_column(Integer, default=0)
    progress_total: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # of the current attempt
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)  # Chinese, shown to every reader
    last_trace: Mapped[str | None] = mapped_column(Text)  # stack trace, administrators only
    incident_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    params: Mapped[str | None] = mapped_column(Text)  # JSON: what the kind's handler needs
    result: Mapped[str | None] = mapped_column(Text)  # JSON: what the person sees when it is done
    result_attachment_id: Mapped[int | None] = mapped_column(
        ForeignKey("attachment.id", name="fk_job_result_attachment", ondelete="SET NULL"))
