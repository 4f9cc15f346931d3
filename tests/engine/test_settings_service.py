"""`save_setting` is the one way a setting is stored, whichever adapter asks: who may comes first,
then the setting's own validator (or its owner's saver); a refusal stores nothing."""
from __future__ import annotations

import pytest

from engine.domain import mediation, negative_list
from engine.domain import prior_review as pr
from engine.runtime.actors import Actor
from engine.runtime.errors import Forbidden, NotFound, ValidationFailed
from engine.runtime.settings import effective_setting, save_setting, setting_versions


def test_only_administrators_change_a_setting_without_an_owner(runtime, actors):
    value = negative_list.default_setting()
    with pytest.raises(Forbidden):
        save_setting(runtime, negative_list.SETTING_KEY, "PK-JP", value, actors["street"])
    assert setting_versions(runtime, negative_list.SETTING_KEY, "PK-JP") == []
    saved = save_setting(runtime, negative_list.SETTING_KEY, "PK-JP", value, actors["admin"])
    assert saved.version == 1 and saved.org_code == "PK-JP"


def test_a_bad_value_is_refused_field_by_field_and_nothing_is_stored(runtime, actors):
    with pytest.raises(ValidationFailed) as refused:
        save_setting(runtime, mediation.SETTING_KEY, None, {"community": -5}, Actor.system("cli"))
    assert refused.value.details and refused.value.message_zh.startswith("分级调解期限有误")
    assert effective_setting(runtime, mediation.SETTING_KEY, None).version == 0
    with pytest.raises(NotFound):
        save_setting(runtime, mediation.SETTING_KEY, "NOPE", mediation.default_setting(), actors["admin"])
    with pytest.raises(ValidationFailed):
        save_setting(runtime, "no_such_setting", None, {}, actors["admin"])


def test_the_catalogue_goes_through_its_owner(runtime, actors):
    """Per street only, by that street's staff or an administrator, never with item 3–8 off."""
    ok = pr.default_setting()
    pr.find_matter(ok, "working_funds")["enabled"] = False
    for org in (None, "PK-JP-XC-01"):
        with pytest.raises(ValidationFailed, match="street"):
            save_setting(runtime, pr.SETTING_KEY, org, ok, actors["admin"])
    with pytest.raises(Forbidden):
        save_setting(runtime, pr.SETTING_KEY, "PK-JP", ok, actors["community"])
    off = pr.default_setting()
    pr.find_matter(off, "property_company")["enabled"] = False
    with pytest.raises(ValidationFailed):
        save_setting(runtime, pr.SETTING_KEY, "PK-JP", off, actors["street"])
    assert setting_versions(runtime, pr.SETTING_KEY, "PK-JP") == []
    assert save_setting(runtime, pr.SETTING_KEY, "PK-JP", ok, actors["street"]).version == 1
    assert [v["created_by"] for v in setting_versions(runtime, pr.SETTING_KEY, "PK-JP", kind="street")] == ["street"]
