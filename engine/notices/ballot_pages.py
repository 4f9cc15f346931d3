"""Drawing ballot pages: the shared static layer, the per-owner band, one chunk of owners.

Pure rendering (no database): `service.issue_document` draws a single ballot with it, and
`ballots.issue_ballots` draws whole compounds in worker processes. Kept apart from ballots.py so
that the notice service and the batch job do not import each other.
"""
from __future__ import annotations

from . import render
from .overlay import underlay


def _render_chunk(ctx: dict, static_pdf: bytes | None = None) -> tuple[bytes, int]:
    """Worker entry point (a child process with its own font cache): a prepared chunk context →
    PDF, with the shared static page drawn under every page when given."""
    pdf, pages = render.html_to_pdf(chunk_html(ctx, static_pdf))
    if static_pdf is not None:
        pdf = underlay(pdf, static_pdf)
    return pdf, pages


def _warm() -> None:
    """Worker start-up: load WeasyPrint, the stylesheet and the CJK fonts once, before the chunks."""
    render.html_to_pdf('<html lang="zh-CN"><body><p>预热 warm-up 0123</p><p style="font-weight:bold">预</p></body></html>')


def static_layer(ctx: dict) -> bytes | None:
    """The part of the ballot every owner shares, rendered once — or None when it does not fit
    on one page beside the owner band (then every page is rendered in full)."""
    pdf, pages = render.html_to_pdf(render.render_html("ballot.html", {**ctx, "layer": "static"}))
    return pdf if pages == 1 else None


def chunk_html(ctx: dict, static_pdf: bytes | None) -> str:
    return render.render_html("ballot.html", {**ctx, "layer": "owners" if static_pdf is not None else "full"})


def render_ballots(ctx: dict) -> tuple[bytes, int]:
    """One prepared ballot context → (PDF, pages), in this process."""
    static = static_layer(ctx)
    return _render_chunk(ctx, static)
