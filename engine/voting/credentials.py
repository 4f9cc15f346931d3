"""What an owner types, besides the ballot code, to vote online: the PIN printed on the ballot or
the last six characters of their ID number on the roll (the compound's choice, fixed on the
round). Both are checked by recomputing a keyed hash under keys derived from the audit signing
key; neither the PIN nor any part of the ID number is stored in the vote's tables."""
from __future__ import annotations

import hashlib
import hmac

from engine.audit_key import derived_key
from engine.domain.id_number import last_six, normalize

PIN_DIGITS = 6
FACTOR_PIN, FACTOR_ID = "pin", "id_last6"
FACTOR_ZH = {FACTOR_PIN: "网上投票密码", FACTOR_ID: "身份证号后六位"}


def ballot_pin(code: str) -> str:
    """The PIN printed on the ballot with this code."""
    digest = hmac.new(derived_key("ballot pin"), code.strip().upper().encode(), hashlib.sha256).digest()
    return str(int.from_bytes(digest[:8], "big") % 10 ** PIN_DIGITS).zfill(PIN_DIGITS)


def id_check(owner_id: str, id_number: str) -> str:
    """The keyed hash of an owner's ID number's last six characters kept on their ballot (with the
    owner id in it, so two owners whose numbers end alike do not share a hash)."""
    message = f"{owner_id}\x00{last_six(id_number)}".encode()
    return hmac.new(derived_key("ballot id last6"), message, hashlib.sha256).hexdigest()


def answer_ok(factor: str, code: str, owner_id: str, stored_check: str | None, answer: str) -> bool:
    """Is `answer` the ballot's second factor? One keyed hash and one constant-time comparison
    whichever factor, whether or not the ballot exists (the caller passes what it found)."""
    if factor == FACTOR_ID:
        typed = normalize(answer)[:16]
        digest = id_check(owner_id, typed if len(typed) == 6 else "\x00")
        return hmac.compare_digest((stored_check or "").encode(), digest.encode()) and stored_check is not None
    return hmac.compare_digest(ballot_pin(code).encode(), str(answer or "").strip().encode()[:16])
