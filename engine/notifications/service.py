"""`Notifications`: the service the pages, the API, the CLI and the workers call; one method, one
unit of work, on the runtime's database and clock."""
from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from engine.runtime.actors import Actor

from . import centre, digest, outbox, preferences, scan
from .preferences import Preferences
from .senders import Sender, configured_senders

log = logging.getLogger(__name__)


class Notifications:
    def __init__(self, runtime):
        self.rt = runtime

    # --- read side ---------------------------------------------------------------------

    def unread_count(self, actor: Actor) -> int:
        with self.rt.uow() as s:
            return centre.unread_count(s, actor.username)

    def listing(self, actor: Actor, unread_only: bool = False, limit: int = 50, offset: int = 0):
        with self.rt.uow() as s:
            return centre.listing(s, actor.username, unread_only, limit, offset)

    def preferences(self, actor: Actor) -> Preferences:
        with self.rt.uow() as s:
            return preferences.preferences_of(s, actor.username)

    # --- a user's own changes ------------------------------------------------------------

    def mark_read(self, actor: Actor, ids: Iterable[Any] | None) -> int:
        with self.rt.uow() as s:
            return preferences.mark_read(s, actor.username, ids, self.rt.now())

    def save_preferences(self, actor: Actor, *, muted: Iterable[str], email: str, email_each: bool,
                         daily_digest: bool) -> Preferences:
        with self.rt.uow() as s:
            return preferences.save(s, actor.username, muted=muted, email=email, email_each=email_each,
                                    daily_digest=daily_digest, now=self.rt.now())

    # --- periodic work (hongwu worker, the serve thread) ------------------------------------

    def scan(self) -> dict[str, int]:
        """Deadlines announced and digests queued."""
        with self.rt.uow() as s:
            announced = scan.scan_deadlines(s, self.rt.now())
        with self.rt.uow() as s:
            queued = digest.queue_digests(s, self.rt.now())
        return {"announced": announced, "digests": queued}

    def send_outbox(self, worker_id: str, senders: Mapping[str, Sender] | None = None, batch: int = 50,
                    max_attempts: int = outbox.MAX_ATTEMPTS,
                    first_delay: timedelta = outbox.FIRST_DELAY) -> outbox.Delivery:
        senders = configured_senders() if senders is None else senders
        return outbox.deliver(self.rt.uow, self.rt.now, senders, worker_id, self.rt.settings.base_url,
                              batch, max_attempts, first_delay)

    def run_periodic(self, worker_id: str) -> dict[str, Any]:
        """One round: scan, then deliver. Failures are logged and reported, never raised: the
        timers run beside this and must go on."""
        report: dict[str, Any] = {}
        try:
            report.update(self.scan())
        except Exception as exc:
            log.error("notification scan failed: %s", exc)
            report["scan_error"] = str(exc)
        try:
            report.update(self.send_outbox(worker_id).as_dict())
        except Exception as exc:
            log.error("outbox delivery failed: %s", exc)
            report["outbox_error"] = str(exc)
        return report

    def outbox_counts(self) -> dict[str, dict[str, int]]:
        with self.rt.uow() as s:
            return outbox.counts(s)
