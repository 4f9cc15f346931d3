"""The vote itself: ballot register, scrutineers and per-ballot entry (see engine.domain.voting)."""
