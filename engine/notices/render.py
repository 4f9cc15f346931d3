"""Template + context → HTML → PDF/A-3u.

Jinja2 runs with autoescape (user text can never become markup) and StrictUndefined (a missing
variable is an error naming it). WeasyPrint's FontConfiguration and the parsed stylesheet are
built once per thread and reused: parsing the CSS and loading the CJK fonts dominate a one-page
render otherwise.
"""
from __future__ import annotations

import atexit
import base64
import io
import threading
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any

import segno
from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateNotFound, UndefinedError, select_autoescape
from markupsafe import Markup

from engine.config import CIVIL_TZ, TEMPLATES_DIR
from engine.runtime.errors import ValidationFailed

PDF_VARIANT = "pdf/a-3u"
STYLESHEET = "notice.css"
_local = threading.local()


# --- filters -----------------------------------------------------------------------------


def cn_date(value: Any) -> str:
    """2026-12-08 / date / datetime → "2026年12月8日" (Arabic numerals, GB/T 9704 §7.3.5.3)."""
    if isinstance(value, datetime):
        value = value.astimezone(CIVIL_TZ).date() if value.tzinfo else value.date()
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value.strip()[:10]) if len(value.strip()) >= 10 else value
        except ValueError:
            return value
    if isinstance(value, date):
        return f"{value.year}年{value.month}月{value.day}日"
    return str(value)


def cn_datetime(value: Any, end: bool = False) -> str:
    """An ISO datetime → "2026年12月8日9时30分" (or "…9时") in Beijing time; other values as cn_date.
    With `end`, midnight closes the day before: "2026年12月30日24时", never "12月31日0:00" — a
    deadline read as the start of a day is a day too early for residents."""
    if isinstance(value, str) and "T" in value:
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    if isinstance(value, datetime):
        local = value.astimezone(CIVIL_TZ) if value.tzinfo else value
        if end and local.time() == datetime.min.time():
            return f"{cn_date(local.date() - timedelta(days=1))}24时"
        return f"{cn_date(local.date())}{local.hour}时" + (f"{local.minute}分" if local.minute else "")
    return cn_date(value)


def cn_deadline(value: Any) -> str:
    """The end of a period: cn_datetime with midnight written as 24时 of the day before."""
    return cn_datetime(value, end=True)


def named(prefix: Any, name: Any) -> str:
    """`prefix` + `name` unless `name` already starts with it: the compound's name before a meeting
    name that may carry it already ("文景花园小区" + "文景花园小区首次业主大会会议" once)."""
    prefix, name = str(prefix or "").strip(), str(name or "").strip()
    return name if prefix and name.startswith(prefix) else prefix + name


def by_strokes(items: Any, attribute: str | None = None) -> list:
    """Sort 按姓氏笔画 (ICU stroke collation); `attribute` names the key of dict items."""
    from engine.domain.collation import by_strokes as _sort

    return _sort(as_list(items), (lambda x: x.get(attribute)) if attribute else (lambda x: x))


def in_rank_order(items: Any) -> list:
    """主任, 副主任, 委员 (组长, 副组长, 成员), then 按姓氏笔画 within a rank."""
    from engine.domain.committee import in_rank_order as _order

    return _order(as_list(items))


# The issuer mark: 30 pt bold with 2 pt tracking; 156 mm = 442 pt of type width (notice.css).
MARK_PT, MARK_TRACKING_PT, MARK_MIN_PT, TYPE_WIDTH_PT = 30.0, 2.0, 22.0, 442.0


def _em_width(text: str) -> float:
    """Advance of `text` in ems: CJK and full-width characters 1, others about half."""
    import unicodedata

    return sum(1.0 if unicodedata.east_asian_width(c) in "WF" else 0.55 for c in text)


def mark_style(text: Any) -> Markup:
    """Style attribute that keeps the issuer mark on one line (GB/T 9704 §7.2.3). A long name first
    loses its tracking and shrinks to 22 pt; beyond that it is set compressed (a horizontal scale,
    as the standard's 长体 setting), centred, full height kept."""
    text = str(text or "").strip()
    ems = _em_width(text)
    if not text or ems * MARK_PT + len(text) * MARK_TRACKING_PT <= TYPE_WIDTH_PT:
        return Markup("")
    usable = TYPE_WIDTH_PT * 0.97  # room for the estimate's error
    size = max(MARK_MIN_PT, min(MARK_PT, usable / ems))
    natural = ems * size
    if natural <= usable:
        return Markup(f' style="font-size:{size:.2f}pt;letter-spacing:0"')
    scale = usable / natural
    return Markup(f' style="font-size:{size:.2f}pt;letter-spacing:0;width:{natural:.1f}pt;'
                  f'margin-left:{(TYPE_WIDTH_PT - natural) / 2:.1f}pt;transform:scaleX({scale:.4f});'
                  f'transform-origin:50% 50%"')


def fit_style(text: Any, max_pt: float, width_pt: float, lines: int) -> Markup:
    """Style attribute with the largest font size up to `max_pt` at which `text` fills at most
    `lines` lines of `width_pt` (ballot titles, whose band has a fixed height); "" if it fits."""
    ems = _em_width(str(text or "").strip())
    if ems * max_pt <= width_pt * lines * 0.95:
        return Markup("")
    return Markup(f' style="font-size:{width_pt * lines * 0.95 / ems:.2f}pt"')


def amount(value: Any, places: int = 2) -> str:
    """Numbers with thousands separators and fixed decimals (areas in m², money in 元)."""
    try:
        d = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    return f"{d:,.{places}f}"


def as_list(value: Any) -> list:
    """A str becomes one paragraph; lists pass through (templates iterate either)."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def qr_data_uri(url: str) -> str:
    """QR code as an SVG data URI (sharp at any size; used once per notice)."""
    return _qr(url)


def qr_png_data_uri(url: str) -> str:
    """QR code as a one-pixel-per-module PNG data URI (drawn with image-rendering: pixelated), for
    pages that each carry their own code (ballots). The mask pattern is fixed: choosing the best
    of eight masks costs five times more than the rest of the encoding, and any mask is valid."""
    buf = io.BytesIO()
    segno.make(url, error="m", mask=0).save(buf, kind="png", scale=1, border=1)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


@lru_cache(maxsize=4096)
def _qr(url: str) -> str:
    return segno.make(url, error="m").svg_data_uri(border=1, scale=1)


def ballot_pin(code: str) -> str:
    """The ballot's online voting PIN, computed while the page is drawn so that it never enters
    the stored context (see engine.voting.online)."""
    from engine.voting.online import ballot_pin as pin

    return pin(code)


def vote_url(verify_url: str, code: str, factor: str = "pin") -> str:
    """The public online voting page of a ballot, on the same site as the verification link; in a
    round checked by ID number the link says so, for the page's label (the server checks the
    factor fixed on the round whatever the link says)."""
    base = verify_url.rsplit("/verify/", 1)[0]
    return f"{base}/vote/{code}" + ("?f=id_last6" if factor == "id_last6" else "")


# --- environment -------------------------------------------------------------------------


@lru_cache(maxsize=4)
def environment(templates_dir: str = str(TEMPLATES_DIR)) -> Environment:
    env = Environment(loader=FileSystemLoader(templates_dir), autoescape=select_autoescape(default=True),
                      undefined=StrictUndefined, trim_blocks=False, lstrip_blocks=False)
    env.filters.update(cn_date=cn_date, cn_datetime=cn_datetime, cn_deadline=cn_deadline, amount=amount,
                       as_list=as_list, by_strokes=by_strokes, in_rank_order=in_rank_order)
    env.globals.update(qr=qr_data_uri, qr_png=qr_png_data_uri, named=named, mark_style=mark_style,
                       fit_style=fit_style, ballot_pin=ballot_pin, vote_url=vote_url)
    return env


def render_html(template: str, context: dict, templates_dir: Path = TEMPLATES_DIR) -> str:
    """Render a template; a missing variable or template raises ValidationFailed naming it."""
    try:
        return environment(str(templates_dir)).get_template(template).render(**context)
    except UndefinedError as exc:
        name = str(exc.message or exc)
        raise ValidationFailed(f"template {template}: {name}", f"文书模板 {template} 缺少变量：{name}",
                               details=[{"field": template, "message": f"undefined variable: {name}",
                                         "message_zh": f"模板变量未提供：{name}"}]) from None
    except TemplateNotFound as exc:
        raise ValidationFailed(f"no template {exc.name}", f"文书模板 {exc.name} 不存在") from None


# --- PDF ---------------------------------------------------------------------------------


def _weasy(templates_dir: Path):
    """Per-thread FontConfiguration + parsed stylesheet (WeasyPrint objects are not thread-safe)."""
    from weasyprint import CSS
    from weasyprint.text.fonts import FontConfiguration

    cache = getattr(_local, "cache", None)
    if cache is None:
        cache = _local.cache = {}
    key = str(templates_dir)
    if key not in cache:
        from .fonts import compact_fonts, font_face_css

        fc = FontConfiguration()
        faces = CSS(string=font_face_css(compact_fonts()), font_config=fc)
        css = CSS(filename=str(templates_dir / STYLESHEET), font_config=fc)
        cache[key] = (fc, [faces, css], {})
        # Drop the font configuration before interpreter shutdown tears down the modules its
        # finalizer needs (otherwise Python prints an ignored TypeError at exit).
        atexit.register(cache.clear)
    return cache[key]


def html_to_pdf(html: str, templates_dir: Path = TEMPLATES_DIR, *, variant: str | None = PDF_VARIANT) -> tuple[bytes, int]:
    """HTML → (PDF bytes, page count). PDF/A-3u by default; lang and title come from the HTML."""
    from weasyprint import HTML

    fc, css, image_cache = _weasy(templates_dir)
    document = HTML(string=html, base_url=str(templates_dir) + "/").render(
        stylesheets=css, font_config=fc, cache=image_cache, pdf_variant=variant)
    pdf = document.write_pdf(pdf_variant=variant)
    return pdf, len(document.pages)
