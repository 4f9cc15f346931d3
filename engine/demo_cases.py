"""Demo data for `hongwu init --demo`: organisations, accounts, and a few cases per process."""
from __future__ import annotations

from engine import demo
from engine.runtime.actors import Actor


def load_demo(rt) -> dict:
    with rt.uow() as s:
        demo.seed(s, rt.now())
    return {"users": [u[0] for u in demo.USERS], "password": demo.DEMO_PASSWORD}
