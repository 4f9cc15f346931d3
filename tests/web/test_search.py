"""Case search: case number (partial, any letter case), compound, title, matter, parties' and
candidates' names — through the page, the API and the service — on SQLite (FTS5 trigram) and
PostgreSQL (pg_trgm); the index follows every save in the same transaction; short terms fall back
to a bounded scan; jurisdiction still applies; odd input changes nothing and finds nothing."""
from __future__ import annotations

import json

from sqlalchemy import select, text

from engine.db.models import CaseSearch
from engine.runtime import search
from engine.runtime.actors import load_actor
from tests.web.support import logged_in

COMPOUND = "PK-JP-XC-01"  # 明发滨江新城小区, community 新城社区
OTHER = "PK-JP-WJ-01"  # 文景花园小区, community 文景社区


def _actor(rt, username):
    with rt.uow() as s:
        return load_actor(s, username)


def _numbers(rt, username, query, **kw):
    return [c.case_number for c in rt.list_cases(_actor(rt, username), query=query, **kw)]


def _start(rt, title, compound=COMPOUND, data=None):
    return rt.start_case("sample_review", compound, _actor(rt, "street"), data or {}, title).case_number


def test_terms_split_fold_and_classify():
    t = search.terms_of("  电梯  YWH-2026 电梯 ab ")
    assert t.indexed == ("ywh-2026",) and t.short == ("电梯", "ab") and not t.bounded
    assert search.terms_of("电梯").bounded and not search.terms_of("").bounded
    assert search.terms_of("x" * 500).indexed == ("x" * search.MAX_QUERY,)
    assert len(search.terms_of(" ".join(f"w{i}xx" for i in range(20))).indexed) == search.MAX_TERMS


def test_index_text_names_every_searchable_field():
    body = search.index_text("YWH-2026-000001", "PK-JP-XC-01", "明发滨江新城小区", "更换电梯",
                             {"parties": [{"name": "张三"}, {"name": "李四"}, "junk"], "candidates": [{"name": "王芳"}],
                              "classification": {"matter_name": "使用维修资金"}}, {"matter_name": "使用维修资金"})
    assert body.splitlines() == ["ywh-2026-000001", "pk-jp-xc-01", "明发滨江新城小区", "更换电梯", "使用维修资金",
                                 "张三", "李四", "王芳"]


def test_search_by_number_title_compound_names(web_rt):
    rt = web_rt
    lift = _start(rt, "更换三号楼电梯")
    roof = _start(rt, "屋面防水维修", compound=OTHER)
    party = _start(rt, "张三与李四噪音纠纷", data={"parties": [{"name": "欧阳建国"}, {"name": "司马光明"}]})
    assert _numbers(rt, "street", lift.lower()) == [lift]  # the whole number in lower case
    assert _numbers(rt, "street", lift[-6:].lower()) == [lift]  # a partial number
    assert set(_numbers(rt, "street", lift.split("-")[0].lower())) >= {lift, roof, party}
    assert _numbers(rt, "street", "三号楼电梯") == [lift]
    assert _numbers(rt, "street", "电梯") == [lift]  # two characters: the short-term scan
    assert _numbers(rt, "street", "文景花园") == [roof]  # compound name
    assert _numbers(rt, "street", OTHER.lower()) == [roof]  # compound code
    assert _numbers(rt, "street", "欧阳建国") == [party]  # a party's name, only in the workflow data
    assert _numbers(rt, "street", "欧阳 噪音纠纷") == [party]  # every term must match
    assert _numbers(rt, "street", "欧阳 屋面防水") == []
    assert _numbers(rt, "street", "不存在的词") == []
    # Filters and jurisdiction still apply to a search.
    assert _numbers(rt, "street", "维修", compound_code=OTHER) == [roof]
    assert _numbers(rt, "community", "文景花园") == []  # another community's compound
    assert _numbers(rt, "community2", "文景花园") == [roof]


def test_index_follows_saves_in_the_same_transaction(web_rt):
    rt = web_rt
    cn = _start(rt, "初始标题", data={"parties": [{"name": "甲某某"}]})
    street = _actor(rt, "street")
    with rt.uow() as s:
        case_id = rt.get_case(cn, street).id
        assert "甲某某" in s.scalar(select(CaseSearch.body).where(CaseSearch.case_id == case_id))
        if s.bind.dialect.name == "sqlite":  # the FTS table is kept in step by triggers
            hits = s.execute(text("SELECT rowid FROM case_search_fts WHERE case_search_fts MATCH '\"甲某某\"'")).all()
            assert hits == [(case_id,)]
    # A later save (a completed step) rewrites the text: new data becomes searchable.
    task = next(t for t in rt.list_tasks(street) if t.case_number == cn)
    rt.complete_task(task.id, street, {"applicant": "申请人", "amount": 5000, "review_days": 7,
                                       "parties": [{"name": "乙某某"}]})
    assert _numbers(rt, "street", "乙某某") == [cn]
    assert _numbers(rt, "street", "甲某某") == []  # the text is replaced, not appended to


def test_short_terms_scan_only_the_newest_cases(web_rt, monkeypatch):
    rt = web_rt
    old = _start(rt, "旧案电梯更换")
    for i in range(3):
        _start(rt, f"新案 {i}")
    monkeypatch.setattr(search, "SHORT_TERM_SCAN", 3)
    cases, bounded = rt.search_cases(_actor(rt, "street"), query="电梯")
    assert bounded and cases == []  # the old case lies beyond the newest three
    cases, bounded = rt.search_cases(_actor(rt, "street"), query="旧案电梯")
    assert not bounded and [c.case_number for c in cases] == [old]  # four characters: the whole index


def test_page_and_api_search(app, web_rt):
    rt = web_rt
    lift = _start(rt, "更换三号楼电梯")
    roof = _start(rt, "屋面防水维修", compound=OTHER)
    street = logged_in(app, "street")
    # A complete number in lower case opens the case.
    r = street.get("/cases", params={"q": lift.lower()}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/cases/{lift}"
    page = street.get("/cases", params={"q": "电梯"}).text
    assert lift in page and roof not in page and 'id="bounded"' not in page  # fewer cases than the bound
    page = street.get("/cases", params={"q": "文景花园"}).text
    assert roof in page and lift not in page
    page = street.get("/cases", params={"q": "没有这种案件"}).text
    assert 'id="not-found"' in page and "没有这种案件" in page
    assert [c["case_number"] for c in street.get("/api/cases", params={"q": "三号楼"}).json()] == [lift]
    assert street.get("/api/cases", params={"q": "x" * 201}).status_code == 422
    # Another community's staff finds nothing of it, by number or by words.
    other = logged_in(app, "community2")
    assert other.get("/api/cases", params={"q": lift}).json() == []
    assert lift not in other.get("/cases", params={"q": "电梯"}).text


def test_odd_queries_find_nothing_and_change_nothing(app, web_rt):
    rt = web_rt
    cn = _start(rt, "普通案件")
    with rt.uow() as s:
        before = s.execute(select(CaseSearch.case_id, CaseSearch.body).order_by(CaseSearch.case_id)).all()
    street = logged_in(app, "street")
    for q in ['"', '""', "' OR 1=1 --", "%", "_", "\\", "NEAR(a b)", "*", "a AND", "普通案件\"", "%%%", "__案件"]:
        r = street.get("/api/cases", params={"q": q})
        assert r.status_code == 200, (q, r.text)
        assert r.json() == [] or q in ("普通案件\"",), (q, r.json())
        assert street.get("/cases", params={"q": q}).status_code == 200
    assert [c["case_number"] for c in street.get("/api/cases", params={"q": "普通"}).json()] == [cn]
    with rt.uow() as s:
        assert s.execute(select(CaseSearch.case_id, CaseSearch.body).order_by(CaseSearch.case_id)).all() == before


def test_reindex_restores_names_the_migration_could_not_index(web_rt):
    rt = web_rt
    cn = _start(rt, "旧案件", data={"parties": [{"name": "丙某某"}]})
    with rt.uow() as s:  # as migration 0010 leaves an existing case: columns only
        s.execute(CaseSearch.__table__.update().values(body=cn.casefold()))
    assert _numbers(rt, "street", "丙某某") == []
    assert rt.reindex_search(batch=1) >= 1
    assert _numbers(rt, "street", "丙某某") == [cn] and _numbers(rt, "street", "旧案件") == [cn]


def test_cli_search_and_reindex(web_rt, db_url):
    from typer.testing import CliRunner

    from engine.cli import app as cli_app

    cn = _start(web_rt, "命令行找得到", data={"parties": [{"name": "丁某某"}]})
    runner = CliRunner()
    r = runner.invoke(cli_app, ["--db", db_url, "case", "list", "--as", "street", "--search", "丁某某", "--json"])
    assert r.exit_code == 0, r.output
    assert [c["case_number"] for c in json.loads(r.stdout)] == [cn]
    r = runner.invoke(cli_app, ["--db", db_url, "case", "reindex", "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout) == {"reindexed": 1}
