"""Negative list as data: defaults, per-street switches, evaluation."""
from __future__ import annotations

from engine.domain import negative_list as nl


def test_defaults_arrears_off():
    d = nl.default_setting()
    assert d["fee_arrears"] is False
    assert all(on for k, on in d.items() if k != "fee_arrears")
    assert len(d) == len(nl.GROUNDS) >= 15
    assert all(g.text and g.source for g in nl.GROUNDS)


def test_evaluate_only_enabled_grounds():
    facts = {"illegal_construction": True, "fee_arrears": True, "criminal": False}
    enabled = nl.enabled_grounds(None)
    assert [g.id for g in nl.evaluate(facts, enabled)] == ["illegal_construction"]
    enabled = nl.enabled_grounds({"fee_arrears": True, "illegal_construction": False})
    assert [g.id for g in nl.evaluate(facts, enabled)] == ["fee_arrears"]
    assert nl.screen({}, enabled) == {"eligible": True, "matched": []}


def test_validate_setting():
    assert nl.validate_setting({"fee_arrears": True}) == []
    assert len(nl.validate_setting({"nope": True, "criminal": "yes"})) == 2
    assert nl.validate_setting([1]) != []


def test_nomination_form_lists_every_ground():
    import json
    from pathlib import Path

    schema = json.loads((Path(__file__).resolve().parents[2] / "forms/committee/nominate.schema.json").read_text("utf-8"))
    facts = schema["properties"]["candidates"]["items"]["properties"]["facts"]["properties"]
    assert {k: v["title"] for k, v in facts.items()} == {g.id: g.text for g in nl.GROUNDS}
