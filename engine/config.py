"""All configuration is read here, from the environment, once.

HONGWU_DATABASE_URL  SQLAlchemy URL; default: SQLite file var/hongwu.db under the working directory
HONGWU_BASE_URL      public base URL printed in notices' QR codes (default http://127.0.0.1:8000)
HONGWU_SECRET_KEY    signs session cookies; default: a random key kept in var/secret.key
HONGWU_TIMEZONE      civil time zone for calendar days (default Asia/Shanghai)
HONGWU_WORKFLOW_CACHE  how many recently saved workflows a process keeps in memory (default 256; 0 = off)
"""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path
from zoneinfo import ZoneInfo

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BUNDLED_BPMN_DIR = PROJECT_ROOT / "bpmn"
BUNDLED_FORMS_DIR = PROJECT_ROOT / "forms"
TEMPLATES_DIR = PROJECT_ROOT / "docs_templates"


def _var_dir() -> Path:
    return Path(os.environ.get("HONGWU_VAR_DIR", "var")).resolve()


def default_database_url() -> str:
    return f"sqlite:///{_var_dir() / 'hongwu.db'}"


def _secret_key() -> str:
    env = os.environ.get("HONGWU_SECRET_KEY")
    if env:
        return env
    path = _var_dir() / "secret.key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(32)
    path.write_text(key)
    path.chmod(0o600)
    return key


@dataclass(frozen=True)
class Settings:
    database_url: str
    base_url: str = "http://127.0.0.1:8000"
    timezone: str = "Asia/Shanghai"
    secret_key: str = field(default="", repr=False)
    workflow_cache_size: int = 256
    script_seconds: float = 2.0  # time limit of one script, condition, timer expression or DMN cell
    script_memory_mb: int = 512  # memory it may add to the process
    case_state_limit: int = 8_000_000  # bytes of saved state per case

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def with_database(self, url: str | None) -> Settings:
        return replace(self, database_url=url) if url else self


def load_settings(database_url: str | None = None) -> Settings:
    return Settings(
        database_url=database_url or os.environ.get("HONGWU_DATABASE_URL") or default_database_url(),
        base_url=os.environ.get("HONGWU_BASE_URL", "http://127.0.0.1:8000").rstrip("/"),
        timezone=os.environ.get("HONGWU_TIMEZONE", "Asia/Shanghai"),
        secret_key=_secret_key(),
        workflow_cache_size=int(os.environ.get("HONGWU_WORKFLOW_CACHE", "256")),
        script_seconds=float(os.environ.get("HONGWU_SCRIPT_SECONDS", "2")),
        script_memory_mb=int(os.environ.get("HONGWU_SCRIPT_MEMORY_MB", "512")),
        case_state_limit=int(os.environ.get("HONGWU_CASE_STATE_LIMIT", "8000000")),
    )


CIVIL_TZ = ZoneInfo("Asia/Shanghai")


def base_url_warning(base_url: str) -> str | None:
    """Why a resident's phone could not open QR codes pointing at `base_url`, or None. Loopback
    and private (RFC 1918, link-local, unique-local) addresses and "localhost" are reachable only
    from this machine or this network; a host name is assumed public."""
    import ipaddress
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(base_url or "")
        host = (parts.hostname or "").strip().lower()
    except ValueError:
        return f"HONGWU_BASE_URL「{base_url}」不是有效的网址"
    if parts.scheme not in ("http", "https") or not host:
        return f"HONGWU_BASE_URL「{base_url}」不是有效的 http(s) 网址"
    if host == "localhost" or host.endswith(".localhost"):
        return f"HONGWU_BASE_URL「{base_url}」是本机地址，居民手机扫码无法访问；文书将标注“测试文书”"
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return None
    if ip.is_loopback or ip.is_unspecified:
        return f"HONGWU_BASE_URL「{base_url}」是本机地址，居民手机扫码无法访问；文书将标注“测试文书”"
    if ip.is_private or ip.is_link_local:
        return f"HONGWU_BASE_URL「{base_url}」是内网地址，居民手机扫码无法访问；文书将标注“测试文书”"
    return None
