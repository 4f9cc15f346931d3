"""Pure rules of tiered mediation: settings, extensions, statistics on a hand-computed fixture."""
from datetime import UTC, datetime

import pytest

from engine.domain import mediation as m


def utc(month, day, hour=0):
    return datetime(2026, month, day, hour, tzinfo=UTC)


def iso(month, day, hour=0):
    return utc(month, day, hour).isoformat()


def test_default_setting_and_levels():
    assert m.default_setting() == {"community": 15, "street": 15, "district": 30, "follow_up_days": 30,
                                   "max_extension_days": 30}
    assert [m.next_level(x) for x in m.LEVELS] == ["street", "district", None]
    assert m.level_days({"street": 20}, "street") == 20
    assert m.level_days({}, "district") == 30
    with pytest.raises(ValueError):
        m.level_days({}, "province")


@pytest.mark.parametrize("value, fragment", [
    ("15", "JSON 对象"),
    ({"community": "15"}, "必须是整数"),
    ({"community": True}, "必须是整数"),
    ({"community": 0}, "1–30"),
    ({"max_extension_days": 31}, "0–30"),
    ({"province": 3}, "未知的设置项"),
])
def test_validate_setting_refuses(value, fragment):
    problems = m.validate_setting(value)
    assert problems and any(fragment in p for p in problems), problems


@pytest.mark.parametrize("key", ["community", "street", "district"])
def test_each_level_is_at_most_one_month_and_the_refusal_says_why(key):
    assert m.validate_setting({key: 30}) == []
    over = m.validate_setting({key: 31})
    assert len(over) == 1 and "1–30" in over[0] and "一个月" in over[0]
    # the settings that were accepted before (60 / 60 / 90 days) are refused now
    assert len(m.validate_setting({"community": 60, "street": 60, "district": 90})) == 3


def test_extension_cap_refusal_says_why():
    assert m.validate_setting({"max_extension_days": 30}) == []
    over = m.validate_setting({"max_extension_days": 31})
    assert "累计不得超过30日" in over[0]


def test_a_level_never_runs_past_one_month():
    from datetime import date

    # 30 days from 1 February would end on 3 March: the month ends first (Art. 202: 1 March).
    feb = m.level_deadline(date(2027, 2, 1), 30)
    assert feb.last_day == date(2027, 3, 1)
    # In a 31-day month the 30 days end first.
    assert m.level_deadline(date(2027, 3, 1), 30).last_day == date(2027, 3, 31)
    # The lawful limit: the month, plus the extension agreed (counted from the month's end).
    assert m.within_limit(date(2027, 3, 1), m.level_deadline(date(2027, 3, 1), 30).due_at, 0)
    late = m.level_deadline(date(2027, 3, 1), 30)
    from engine.domain.periods import period_end

    over = period_end(date(2027, 4, 1), days=1, kind="mediation")  # one day past the month
    assert not m.within_limit(date(2027, 3, 1), over.due_at, 0)
    assert m.within_limit(date(2027, 3, 1), over.due_at, 1)
    assert late.due_at < over.due_at


def test_validate_setting_accepts_partial():
    assert m.validate_setting({"community": 10, "max_extension_days": 0}) == []
    assert m.effective_setting({"community": 10})["street"] == 15


def test_extension_rules():
    ok = m.check_extension(level="community", requested_days=20, parties_agreed=True, extensions=[], max_days=30)
    assert ok == []
    twice = m.check_extension(level="community", requested_days=5, parties_agreed=True,
                              extensions=[{"level": "community", "days": 20}], max_days=30)
    assert any("已延长过一次" in p["message_zh"] for p in twice)
    over = m.check_extension(level="street", requested_days=11, parties_agreed=True,
                             extensions=[{"level": "community", "days": 20}], max_days=30)
    assert [p["field"] for p in over] == ["extension_days"]
    assert "累计不得超过 30 日" in over[0]["message_zh"] and "尚可延长 10 日" in over[0]["message_zh"]
    assert m.check_extension(level="street", requested_days=10, parties_agreed=True,
                             extensions=[{"level": "community", "days": 20}], max_days=30) == []
    at_once = m.check_extension(level="district", requested_days=31, parties_agreed=True, extensions=[], max_days=30)
    assert at_once and "累计不得超过" in at_once[0]["message_zh"]
    no_consent = m.check_extension(level="district", requested_days=5, parties_agreed=False, extensions=[],
                                   max_days=30)
    assert [p["field"] for p in no_consent] == ["parties_agreed"]
    zero = m.check_extension(level="district", requested_days=0, parties_agreed=True, extensions=[], max_days=30)
    assert zero and zero[0]["field"] == "extension_days"


def fixture_records():
    """Nine cases; the expected numbers are worked out by hand in test_stats_on_fixture."""
    R = m.CaseRecord
    acc = {"accepted": True}
    return [
        R("A", "completed", utc(11, 1), {**acc, "outcome": "settled", "settled_level": "community",
                                          "level_started_at": {"community": iso(11, 1)},
                                          "level_ended_at": {"community": iso(11, 5)}}),
        R("B", "completed", utc(11, 1), {**acc, "outcome": "settled", "settled_level": "street",
                                          "level_started_at": {"community": iso(11, 1), "street": iso(11, 16)},
                                          "level_ended_at": {"community": iso(11, 16), "street": iso(11, 26)}}),
        R("C", "completed", utc(11, 2), {**acc, "outcome": "settled", "settled_level": "district",
                                          "start_level": "district",
                                          "level_started_at": {"district": iso(11, 2)},
                                          "level_ended_at": {"district": iso(11, 22)}}),
        R("D", "completed", utc(11, 3), {**acc, "outcome": "referred",
                                          "level_started_at": {"community": iso(11, 3), "street": iso(11, 10),
                                                               "district": iso(11, 25)},
                                          "level_ended_at": {"community": iso(11, 10), "street": iso(11, 25),
                                                             "district": iso(12, 15)}}),
        R("E", "running", utc(12, 10), {**acc, "current_level": "community",
                                         "level_started_at": {"community": iso(12, 10)},
                                         "level_due_at": {"community": iso(12, 18, 16)}}),
        R("F", "running", utc(12, 1), {**acc, "current_level": "street",
                                        "level_started_at": {"community": iso(12, 1), "street": iso(12, 8)},
                                        "level_ended_at": {"community": iso(12, 8)},
                                        "level_due_at": {"community": iso(12, 16), "street": iso(12, 23, 16)}}),
        R("G", "completed", utc(12, 2), {"accepted": False, "outcome": "not_accepted"}),
        R("H", "running", utc(12, 19), {}),
        R("I", "completed", utc(11, 10), {**acc, "outcome": "settled", "settled_level": "community",
                                           "level_started_at": {"community": iso(11, 10)},
                                           "level_ended_at": {"community": iso(11, 12)}}),
    ]


def test_stats_on_fixture():
    s = m.compute_stats(fixture_records(), now=utc(12, 20, 2))
    # received 9; decided 8 (H pending); accepted 7 (not G); concluded A B C D I; settled A B C I; referred D.
    assert (s["received"], s["decided"], s["accepted"], s["not_accepted"], s["awaiting_acceptance"]) == (9, 8, 7, 1, 1)
    assert (s["concluded"], s["settled"], s["referred"], s["in_progress"]) == (5, 4, 1, 2)
    assert s["settled_by_level"] == {"community": 2, "street": 1, "district": 1}
    assert s["mediation_rate"] == 0.875  # 7 / 8
    assert s["success_rate"] == 0.8  # 4 / 5
    assert s["settled_level1_share"] == 0.4  # 2 / 5
    assert s["settled_level2_or_below_share"] == 0.6  # 3 / 5
    assert s["referred_share"] == 0.2  # 1 / 5
    # community spans A 4, B 15, D 7, F 7, I 2 → median 7; street B 10, D 15 → 12.5; district C 20, D 20.
    assert s["median_days_per_level"] == {"community": 7.0, "street": 12.5, "district": 20.0}
    assert s["level_samples"] == {"community": 5, "street": 2, "district": 2}
    # E's community deadline (18 Dec 24:00) has passed on 20 Dec; F's street deadline has not.
    assert s["overdue_now"] == 1 and s["overdue_cases"] == ["E"]
    ind = {i["key"]: i for i in s["indicators"]}
    assert ind["mediation_rate"]["target"] == 1.0 and ind["mediation_rate"]["met"] is False
    assert ind["success_rate"]["target"] == 0.95 and ind["success_rate"]["met"] is False
    assert ind["success_rate"]["display"] == "80.0%"
    assert ind["settled_level1_share"]["target_text"] == "小事不出社区"
    assert ind["settled_level2_or_below_share"]["target_text"] == "大事不出街道"
    assert ind["referred_share"]["target_text"] == "矛盾不上交"


def test_stats_empty_and_targets_met():
    empty = m.compute_stats([], now=utc(12, 1))
    assert empty["received"] == 0 and empty["success_rate"] is None and empty["indicators"][0]["met"] is None
    good = [m.CaseRecord(str(i), "completed", utc(11, 1), {"accepted": True, "outcome": "settled",
                                                             "settled_level": "community"}) for i in range(20)]
    s = m.compute_stats(good, now=utc(12, 1))
    assert s["mediation_rate"] == 1.0 and s["success_rate"] == 1.0
    assert all(i["met"] in (True, None) for i in s["indicators"])
