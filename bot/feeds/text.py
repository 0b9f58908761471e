"""What a feed's text becomes: HTML as plain text (the stdlib html.parser: no regular
expression of ours runs over a feed's HTML), whitespace collapsed, cut at a word. Pure."""

from __future__ import annotations

from html.parser import HTMLParser

# Elements whose content is never text a reader sees.
_DROPPED = frozenset({"noscript", "script", "style", "template"})
# Elements that end a line of text: a paragraph, a list item, a line break.
_BLOCKS = frozenset(
    {
        "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption",
        "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main",
        "nav", "ol", "p", "pre", "section", "table", "td", "th", "tr", "ul",
    }
)  # fmt: skip
# Control characters other than the whitespace str.split() already collapses.
_CONTROLS = dict.fromkeys([*range(0x09), *range(0x0E, 0x1C), *range(0x7F, 0xA0)], " ")
_ELLIPSIS = "…"


class _TextCollector(HTMLParser):
    """The text an HTML fragment shows, with a line break where a block ends."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._dropping = 0  # depth inside _DROPPED elements

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROPPED:
            self._dropping += 1
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _DROPPED:
            self._dropping = max(0, self._dropping - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._dropping:
            self.parts.append(data)


def _collected(html: str) -> str:
    collector = _TextCollector()
    collector.feed(html)
    collector.close()
    return "".join(collector.parts)


def html_text(html: str) -> str:
    """The text an HTML fragment shows: tags stripped, script and style content dropped,
    entities decoded; a line per block, whitespace within a line collapsed, blank lines dropped."""
    if "<" not in html and "&" not in html:
        text = html
    else:
        try:
            text = _collected(html)
        except AssertionError:
            # _markupbase asserts on some malformed declarations ("<![x["): shown as text instead
            text = _collected(html.replace("<!", "&lt;!"))
    return tidy(text)


def tidy(text: str) -> str:
    """Plain text with control characters as spaces, whitespace within a line collapsed and
    blank lines dropped."""
    text = text.translate(_CONTROLS)
    return "\n".join(line for line in (" ".join(raw.split()) for raw in text.splitlines()) if line)


def one_line(text: str) -> str:
    """Plain text on one line: every run of whitespace, line breaks too, as one space."""
    return " ".join(text.translate(_CONTROLS).split())


def cut_at_word(text: str, limit: int) -> str:
    """text, at most limit characters; when longer, cut at the last space that keeps at least
    half of it, and ended with an ellipsis."""
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    space = head.rfind(" ")
    if space >= limit // 2:
        head = head[:space]
    return head.rstrip(" ,;:.-–—\n") + _ELLIPSIS
