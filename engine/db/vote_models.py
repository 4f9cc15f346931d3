"""Tables of the vote itself (engine/voting): the ballot register, the scrutineers of a case and
their entries. Imported at the end of engine/db/models.py so that they share its Base."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, UTCDateTime


class VoteRound(Base):
    """What one round's ballot asks (its items and their labels, the threshold) and until when."""

    __tablename__ = "vote_round"
    case_id: Mapped[int] = mapped_column(ForeignKey("process_case.id", ondelete="CASCADE"), primary_key=True)
    round: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    items: Mapped[str] = mapped_column(Text)  # JSON list of item ids, in ballot order
    labels: Mapped[str] = mapped_column(Text)  # JSON {item id: label}
    threshold: Mapped[str] = mapped_column(String(16), default="majority")
    seats: Mapped[int | None] = mapped_column(Integer)
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)  # voting closes at this instant
    # What an owner types online besides the code (pin | id_last6): the compound's setting when
    # the round's ballots were issued, since they print it; a later change waits for the next round.
    second_factor: Mapped[str] = mapped_column(String(16), default="pin", server_default="pin")
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)


class VoteBallot(Base):
    """One issued ballot (选票登记簿): its code as printed, whose it is, how it reached the owner,
    whether it came back, and whether it was voided (a reissue names the ballot it replaces)."""

    __tablename__ = "vote_ballot"
    __table_args__ = (Index("ix_vote_ballot_case_round", "case_id", "round", "owner_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("process_case.id", ondelete="CASCADE"))
    round: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(48), unique=True)
    owner_id: Mapped[str] = mapped_column(String(64))
    owner_name: Mapped[str] = mapped_column(String(200), default="")
    units: Mapped[str] = mapped_column(Text, default="")
    area: Mapped[str] = mapped_column(String(32))  # exact decimal text, as on the roll
    serial: Mapped[int] = mapped_column(Integer)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("document.id"))
    status: Mapped[str] = mapped_column(String(16))  # issued | delivered | returned | void
    issued_by: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivery_channel: Mapped[str | None] = mapped_column(String(16))  # door | post | onsite | online
    delivered_by: Mapped[str | None] = mapped_column(String(64))
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    returned_by: Mapped[str | None] = mapped_column(String(64))
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    voided_by: Mapped[str | None] = mapped_column(String(64))
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    void_reason: Mapped[str | None] = mapped_column(Text)
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("vote_ballot.id"))
    # The channel that recorded this ballot's vote first (paper | online): it alone is counted.
    voted_channel: Mapped[str | None] = mapped_column(String(16))
    voted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Wrong PIN tries on the online voting page; locked at the limit until staff unlock it.
    pin_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    pin_locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # In an id_last6 round: the keyed hash of the owner's ID number's last six (never the number).
    id_check: Mapped[str | None] = mapped_column(String(64))


class VoteScrutineer(Base):
    """A user designated 监票、计票人 of a case (the role exists per case, not per user)."""

    __tablename__ = "vote_scrutineer"
    case_id: Mapped[int] = mapped_column(ForeignKey("process_case.id", ondelete="CASCADE"), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    designated_by: Mapped[str] = mapped_column(String(64))
    designated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class VoteEntry(Base):
    """One scrutineer's reading of one paper ballot. Never changed, except that a correction by
    the same scrutineer marks the entry it replaces as superseded. `set_aside` marks a paper
    entry of a ballot whose vote another channel recorded first."""

    __tablename__ = "vote_entry"
    __table_args__ = (Index("ix_vote_entry_ballot", "ballot_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("process_case.id", ondelete="CASCADE"), index=True)
    ballot_id: Mapped[int] = mapped_column(ForeignKey("vote_ballot.id", ondelete="CASCADE"))
    scrutineer: Mapped[str] = mapped_column(String(64))
    reading: Mapped[str] = mapped_column(Text)  # JSON: {"marks": {item: vote}} | {"invalid": reason}
    source: Mapped[str] = mapped_column(String(16), default="page")  # page | csv
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    superseded: Mapped[bool] = mapped_column(Boolean, default=False)
    correction_of: Mapped[int | None] = mapped_column(ForeignKey("vote_entry.id"))
    correction_reason: Mapped[str | None] = mapped_column(Text)
    set_aside: Mapped[bool] = mapped_column(Boolean, default=False)





class VoteOnline(Base):
    """One online vote on a ballot, with the receipt code the owner keeps. Only the ballot's
    first recorded vote counts; a later online vote is kept, set aside, with the reason."""

    __tablename__ = "vote_online"
    __table_args__ = (Index("ux_vote_online_counted", "ballot_id", unique=True,
                            postgresql_where=text("NOT set_aside"), sqlite_where=text("NOT set_aside")),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("process_case.id", ondelete="CASCADE"), index=True)
    ballot_id: Mapped[int] = mapped_column(ForeignKey("vote_ballot.id", ondelete="CASCADE"))
    reading: Mapped[str] = mapped_column(Text)  # JSON {"marks": {item: vote}}
    receipt: Mapped[str] = mapped_column(String(32), unique=True)
    voted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    set_aside: Mapped[bool] = mapped_column(Boolean, default=False)
    set_aside_reason: Mapped[str | None] = mapped_column(Text)
