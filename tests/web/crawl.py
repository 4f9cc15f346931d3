"""A crawler over the demo as each demo account sees it, and a finder of identifier-looking
English in what a page shows (text nodes, option labels, placeholders, button captions)."""
from __future__ import annotations

import re
from collections import deque
from html.parser import HTMLParser
from urllib.parse import urldefrag, urljoin, urlparse

from fastapi.testclient import TestClient

# Identifier-looking English: snake_case, code:with:colons, dotted.keys, Python/JSON literals,
# raw JSON, "unknown …" error texts, and any lower-case ASCII word of 3+ letters outside the
# allowlist (coded values such as `agree`, `first`, `community` are such words).
SNAKE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
COLON_CODE = re.compile(r"\b[a-z][a-z0-9_]*:[a-z][a-z0-9_:]*\b")
LITERAL = re.compile(r"\b(?:None|null|True|False|true|false|undefined|NaN)\b")
RAW_JSON = re.compile(r"[{\[]\s*\"[^\"]*\"\s*:|\{\s*\}|\[\s*\]")
UNKNOWN = re.compile(r"\bunknown\b", re.I)
LOWER_WORD = re.compile(r"(?<![A-Za-z0-9.@/-])[a-z]{3,}(?![A-Za-z0-9.@/-])")
# Words that may show: file kinds and units, and the product's own name.
ALLOWED_WORDS = {"hongwu", "pdf", "csv", "jsonl", "xlsx", "sha", "kb", "mb"}
SKIP_LINK = re.compile(r"^/(?:logout|static/|documents/\d+/download|cases/[^/]+/attachments/|api/|favicon)"
                       r"|/export\b|[?&]format=")


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _Visible(HTMLParser):
    """Text a person sees: text nodes (not in script/style), option labels, placeholders,
    button values; and the page's links. Content marked translate="no" (login names, a JSON
    editor's text) is data a person typed, not words of the interface: it is left out."""

    HIDDEN = {"script", "style", "noscript"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.links: list[str] = []
        self._hidden = 0
        self._stack: list[bool] = []  # per open element: does it hide its content?

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.handle_endtag(tag)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag not in VOID:
            hides = tag in self.HIDDEN or a.get("translate") == "no"
            self._stack.append(hides)
            self._hidden += hides
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        if a.get("placeholder"):
            self.parts.append(a["placeholder"])
        if tag == "input" and a.get("type") in ("submit", "button") and a.get("value"):
            self.parts.append(a["value"])

    def handle_endtag(self, tag):
        if tag in VOID or not self._stack:
            return
        self._hidden -= self._stack.pop()

    def handle_data(self, data):
        if not self._hidden and data.strip():
            self.parts.append(data.strip())


def visible_text(html: str) -> tuple[str, list[str]]:
    p = _Visible()
    p.feed(html)
    return "\n".join(p.parts), p.links


WEB_ADDRESS = re.compile(r"https?://[^\s「」，。；）]+")  # an address is data, like a case number


def leaks(text: str, allowed: set[str] = frozenset()) -> list[str]:
    text = WEB_ADDRESS.sub(" ", text)
    found: list[str] = []
    for rx in (SNAKE, COLON_CODE, LITERAL, RAW_JSON, UNKNOWN):
        found += rx.findall(text)
    found += [w for w in LOWER_WORD.findall(text) if w not in ALLOWED_WORDS]
    return sorted({f for f in found if f not in allowed})


def crawl(client: TestClient, start: str = "/", limit: int = 400, same_shape: int = 3) -> dict[str, str]:
    """GET every same-site page reachable from `start` by links (no downloads, exports or logout).
    Of pages whose address differs only in digits (case 2, case 3 …), `same_shape` are visited.
    Returns {path: html}."""
    seen: dict[str, str] = {}
    shapes: dict[str, int] = {}
    queue = deque([start])
    while queue and len(seen) < limit:
        path = queue.popleft()
        if path in seen:
            continue
        shape = re.sub(r"\d+", "#", path)
        if shapes.get(shape, 0) >= same_shape:
            continue
        shapes[shape] = shapes.get(shape, 0) + 1
        r = client.get(path)
        if "text/html" not in r.headers.get("content-type", ""):
            continue
        seen[path] = r.text
        final = r.url.path + (f"?{r.url.query.decode() if isinstance(r.url.query, bytes) else r.url.query}"
                              if r.url.query else "")
        if final != path:  # a redirect: the page is known by where it ended up
            seen.setdefault(final, r.text)
        _, links = visible_text(r.text)
        for href in links:
            url = urljoin("http://testserver" + final, href)
            parsed = urlparse(url)
            if parsed.netloc != "testserver" or parsed.scheme not in ("http", "https"):
                continue
            target = urldefrag(parsed.path + (f"?{parsed.query}" if parsed.query else ""))[0]
            if SKIP_LINK.search(target) or target in seen:
                continue
            queue.append(target)
    return seen
