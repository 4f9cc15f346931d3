"""Writes docs_templates/README.md from the kind registry, so the two never disagree:

    python -m engine.notices.readme > docs_templates/README.md
"""
from __future__ import annotations

from .kinds import NOTICE_KINDS

HEAD = '# docs_templates — official notice templates\n\nEvery notice hongwu issues is a Jinja2 child template `<kind>.html` extending `base.html`\n(GB/T 9704-2012 layout, DESIGN.md §4.5) styled by `notice.css`. Rendering: Jinja2 with\n**autoescape** (user text is always literal text) and **StrictUndefined** (a missing variable is an\nerror naming it, and nothing is stored). The registry of kinds is `engine/notices/kinds.py`\n(`NOTICE_KINDS`); this file lists the same kinds and variables (a test keeps them in step).\n\n## Issuing a notice\n\nFrom a BPMN service task (the document commits with the case state):\n\n```xml\n<spiffworkflow:serviceTaskOperator id="issue_notice" resultVariable="notice">\n  <spiffworkflow:parameters>\n    <spiffworkflow:parameter id="kind" type="str" value="\'candidate_list_publicity\'"/>\n    <spiffworkflow:parameter id="context" type="any" value="candidate_notice"/>\n  </spiffworkflow:parameters>\n</spiffworkflow:serviceTaskOperator>\n```\n\nOptional parameters: `title` (overrides the default title), `replaces` (id of the document this one\ncorrects). Result: `{"document_id", "verification_code", "sha256", "title", "doc_number"}`.\n\nFrom Python: `engine.notices.service.issue_document(session, kind=…, context=…, case=…, actor=…,\nnow=…, settings=…, title=None, replaces=None) -> Document`; `verify_pdf_bytes(session, data)`,\n`find_by_code(session, code)`. Ballots for a whole compound: `engine.notices.ballots.issue_ballots`.\nComplete example contexts for every kind: `tests/notices/samples.py`.\n\n## Variables the engine supplies\n\n| variable | meaning | default |\n|---|---|---|\n| `issuer` | 发文机关 | the case compound\'s street name + "办事处" (give `issuer` in context without a case) |\n| `doc_number` | 发文字号 江街〔2026〕3号 (GB/T 9704 §7.2.4) | the issuing organisation\'s 机关代字 (admin page, per organisation), the full year, the issuer\'s next sequence that year without leading zeros; unique per issuer and year in the database (ballots: none) |\n| `date` | 成文日期 "2026年11月21日" | civil date (Asia/Shanghai) of the issuing moment |\n| `title` | 标题 | the kind\'s default title below |\n| `verification_code`, `verify_url`, `qr_data_uri` | 核验码, <base-url>/verify/<code>, its QR code | — |\n| `case_number` | 案件编号 | "" without a case |\n| `seal_image` | the issuing organisation\'s electronic seal (PNG data URI), placed 42 mm over issuer and date | none: a blank 42 mm area for hand stamping |\n| `test_mark` | prints 测试文书 on every page | true when HONGWU_BASE_URL is a loopback or private address |\n\nOptional in every kind: `recipient` (主送, e.g. "各位业主："), `body` (extra paragraphs, list of\nstr, printed before the closing line), `attachments` (附件 names), `contact` (联系人及电话), `cc` (抄送),\n`replaces_reason` (required with `replaces`: the replacing notice opens with "本公告替代江街〔2026〕6号《…》。替代原因：…").\nDates may be ISO strings (`"2026-12-08"`, or ISO datetimes for times) or date objects; templates\nprint them with the filters `cn_date` / `cn_datetime` ("2026年12月8日9时30分", Beijing time) and\n`cn_deadline` for the end of a period (midnight is "2026年12月30日24时", never "31日0:00").\nOther filters: `amount` (12,345.60), `as_list` (a str becomes a one-item list), `by_strokes("name")`\n(按姓氏笔画, ICU\'s stroke collation), `in_rank_order` (主任, 副主任, 委员, then strokes); the\nfunction `named(compound_name, meeting_name)` never doubles the compound\'s name.\n\n## Layout rules (checked from the PDF in tests/notices/test_layout.py)\n\nThe closing line (特此公告。 unless a child sets `closing`, "" for none), attachments, signature and\nthe verification block are one group: never split, never alone on a page — it takes the body\'s\nlast paragraph with it (GB/T 9704 §7.3.5). The issuer mark stays on one line (long names shrink to\n22 pt, then are set compressed). Nothing leaves the 156 × 225 mm type area. PDF/A-3u requirements\nthat can be read back with pypdf are checked in tests/notices/test_pdfa.py (which lists what only a\nvalidator would check).\n\n## Kinds\n'

TAIL = '## Adding a kind\n\n1. Write `docs_templates/<kind>.html`: `{% extends "base.html" %}` and fill `{% block body %}`\n   (paragraphs `<p>`, headings `<h2>` 一、 / `<h3>` （一）, tables `<table class="list">`);\n   override `{% block signer %}` when the signer differs (e.g. a party branch), `{% block signature %}`\n   only for another kind of signature (an agreement\'s signature table). Never use\n   `|safe` on data: autoescape is what makes user-supplied text literal.\n2. Declare it: a kind used by one process goes in that process\'s descriptor\n   (`ProcessDescriptor(notice_kinds=(NoticeKind(kind, title, description, required={...},\n   optional={...}),))`); a kind any process may issue goes in `engine/notices/kinds.py`. Then\n   regenerate this file: `python -m engine.notices.readme > docs_templates/README.md`.\n3. Add a sample context to `tests/notices/samples.py`; the notices tests then render it, check its\n   text, fonts and escaping.\n'


def readme() -> str:
    out = [HEAD]
    for k in NOTICE_KINDS.values():  # the built-in kinds, then those the processes declare
        out.append(f"### `{k.kind}` — {k.title}\n\n{k.description}\n\nRequired:\n")
        out += [f"- `{n}`: {w}" for n, w in k.required.items()]
        if k.optional:
            out.append("\nOptional:\n")
            out += [f"- `{n}`: {w}" for n, w in k.optional.items()]
        if k.check is not None:
            out.append(f"\nChecked: {(k.check.__doc__ or '').split('.')[0].strip()}.")
        out.append("")
    out.append(TAIL)
    return "\n".join(out)


if __name__ == "__main__":
    print(readme(), end="")
