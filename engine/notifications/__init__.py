"""Notifications (issue 16 item 4): audit events and new, unstaffed, due and overdue steps become
messages in each user's notification centre and, as each user chose, outbox messages that the
worker sends through pluggable senders (SMTP email included), plus a daily digest.

  kinds        the kinds and their Chinese names
  recipients   who is told (pools, street supervisors, administrators)
  notify       writing a notification and its outbox rows (the caller's transaction)
  events       the audit listener: claims, assignments, mentions, case controls
  arrivals     new ready steps (called by the save of a case)
  scan         periodic: due within a day, overdue; stuck cases
  centre       read side: a user's list and unread count
  preferences  what a user receives; marking read
  outbox       delivery with retries and back-off
  senders      the Sender protocol, SMTP, registration
  digest       the daily digest
  service      `Notifications`, what adapters call
"""
from engine import audit

from .events import on_event

audit.add_listener(on_event)
