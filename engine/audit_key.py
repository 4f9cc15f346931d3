"""The audit signing key: an Ed25519 key in a file outside the database.

HONGWU_AUDIT_KEY_FILE names the file; default var/audit-signing.key (under HONGWU_VAR_DIR). It is
made on first use (mode 0600). It signs checkpoints, and a key derived from it seals every audit
event, so someone who can write to the database but can't read this file can't forge history.
Keep a copy somewhere safe: without it, seals can no longer be checked.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from engine.runtime.errors import HongwuError


class AuditKeyError(HongwuError):
    code = "audit_key"


def _location() -> str:
    # Read on every seal: a cheap string; the file itself is read once per path (cached below).
    return os.environ.get("HONGWU_AUDIT_KEY_FILE") or os.path.join(os.environ.get("HONGWU_VAR_DIR", "var"),
                                                                  "audit-signing.key")


def key_path() -> Path:
    return Path(_location()).resolve()


def _create(path: Path) -> None:
    """Write a new key so that a racing process either sees none or the whole file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                     serialization.NoEncryption())
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".audit-key-")
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, pem)
        os.fsync(fd)
        os.close(fd)
        try:
            os.link(tmp, path)  # fails if another process made one first: keep theirs
        except FileExistsError:
            pass
    finally:
        os.unlink(tmp)


@lru_cache(maxsize=8)
def _load(location: str) -> tuple[Ed25519PrivateKey, bytes]:
    path = Path(location).resolve()
    if not path.exists():
        _create(path)
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError, OSError) as exc:
        raise AuditKeyError(f"audit signing key {path} is unreadable: {exc}", f"审计签名密钥 {path} 无法读取：{exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise AuditKeyError(f"audit signing key {path} is not an Ed25519 key", f"审计签名密钥 {path} 不是 Ed25519 密钥")
    raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    # A separate key for the per-event HMAC, so the signing key itself is never used twice over.
    return key, hashlib.sha256(b"hongwu audit seal\x00" + raw).digest()


def signing_key() -> Ed25519PrivateKey:
    return _load(_location())[0]


def seal_key() -> bytes:
    return _load(_location())[1]


def derived_key(purpose: str) -> bytes:
    """A key for another purpose (e.g. the ballots' PINs), derived from the signing key so that
    it lives nowhere in the database and needs no file of its own."""
    return _derived(_location(), purpose)


@lru_cache(maxsize=32)
def _derived(location: str, purpose: str) -> bytes:
    raw = _load(location)[0].private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                      serialization.NoEncryption())
    return hashlib.sha256(b"hongwu " + purpose.encode() + b"\x00" + raw).digest()


def public_key_hex(key: Ed25519PrivateKey | None = None) -> str:
    pub = (key or signing_key()).public_key()
    return pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def public_key_from_hex(text: str) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(bytes.fromhex(text))


def describe() -> tuple[bool, str]:
    """(usable, what) for `hongwu doctor`, without making a key as a side effect."""
    path = key_path()
    if not path.exists():
        return False, f"{path} does not exist yet; it is made on the first audit event / 审计密钥尚未生成（首次写审计记录时生成），请备份"
    try:
        return True, f"{path}, public key {public_key_hex(_load(str(path))[0])}"
    except AuditKeyError as exc:
        return False, f"{exc.message} / {exc.message_zh}"
