"""A throwaway PostgreSQL database for a benchmark: created on the server named by
HONGWU_TEST_PG_URL under a unique name, dropped afterwards even if the benchmark fails."""
from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text


@contextmanager
def throwaway_database(pg_url: str, label: str, keep: bool = False) -> Iterator[str]:
    """Yields the new database's URL (same server and credentials as `pg_url`). `keep` leaves it
    in place, e.g. to read query plans afterwards."""
    admin = create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    name = f"hongwu_bench_{label}_{uuid.uuid4().hex[:8]}"
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield pg_url.rsplit("/", 1)[0] + "/" + name
    finally:
        if keep:
            print(f"kept database {name}", file=sys.stderr)
        else:
            with admin.connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
