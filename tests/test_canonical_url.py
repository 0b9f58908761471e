"""canonical_url: one test per normalisation rule of DESIGN.md §3 (Identity)."""

from __future__ import annotations

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.articles import canonical_url
from bot.articles.identity import PLAIN_HTTP_URL, is_plain_http_url


def test_scheme_and_host_are_lowercased_path_is_not() -> None:
    assert canonical_url("HTTPS://News.EXAMPLE.com/Path/To") == "https://news.example.com/Path/To"


def test_http_and_https_stay_distinct() -> None:
    assert canonical_url("http://example.com/a") == "http://example.com/a"
    assert canonical_url("https://example.com/a") == "https://example.com/a"


def test_www_is_dropped() -> None:
    assert canonical_url("https://www.example.com/a") == "https://example.com/a"
    assert canonical_url("https://WWW.gizmodo.com.au/a") == "https://gizmodo.com.au/a"


def test_only_a_leading_www_label_is_dropped() -> None:
    assert canonical_url("https://www2.example.com/a") == "https://www2.example.com/a"
    assert canonical_url("https://wwwexample.com/a") == "https://wwwexample.com/a"
    assert canonical_url("https://news.www.example.com/") == "https://news.www.example.com"
    assert canonical_url("https://www.com/a") == "https://www.com/a"  # nothing would be left


def test_default_ports_are_dropped() -> None:
    assert canonical_url("http://example.com:80/a") == "http://example.com/a"
    assert canonical_url("https://example.com:443/a") == "https://example.com/a"


def test_other_ports_are_kept() -> None:
    assert canonical_url("https://example.com:8443/a") == "https://example.com:8443/a"
    assert canonical_url("http://example.com:443/a") == "http://example.com:443/a"
    assert canonical_url("https://example.com:80/a") == "https://example.com:80/a"


def test_fragment_is_dropped() -> None:
    assert canonical_url("https://example.com/a#comments") == "https://example.com/a"
    assert canonical_url("https://example.com/a?b=1#x?y") == "https://example.com/a?b=1"


def test_trailing_slash_is_dropped() -> None:
    assert canonical_url("https://example.com/a/") == "https://example.com/a"
    assert canonical_url("https://example.com/a//") == "https://example.com/a"
    assert canonical_url("https://example.com/a/?b=1") == "https://example.com/a?b=1"


def test_root_path_becomes_empty() -> None:
    assert canonical_url("https://example.com/") == "https://example.com"
    assert canonical_url("https://example.com") == "https://example.com"
    assert canonical_url("https://example.com/?a=1") == "https://example.com?a=1"


def test_utm_parameters_are_dropped() -> None:
    url = "https://example.com/a?utm_source=tw&utm_medium=social&UTM_Campaign=x&utm_=1&id=7"
    assert canonical_url(url) == "https://example.com/a?id=7"


def test_fbclid_and_gclid_are_dropped() -> None:
    assert canonical_url("https://example.com/a?fbclid=abc&gclid=def") == "https://example.com/a"
    assert canonical_url("https://example.com/a?fbclid&x=1") == "https://example.com/a?x=1"


def test_other_parameters_that_merely_look_alike_are_kept() -> None:
    url = "https://example.com/a?utmost=1&fbclid2=2&my_utm_source=3"
    assert canonical_url(url) == "https://example.com/a?fbclid2=2&my_utm_source=3&utmost=1"


def test_query_is_sorted_by_key_then_value() -> None:
    url = "https://example.com/a?b=2&a=2&b=1&a=1&c"
    assert canonical_url(url) == "https://example.com/a?a=1&a=2&b=1&b=2&c"
    assert canonical_url("https://example.com/a?z=1&a=9") == canonical_url(
        "https://example.com/a?a=9&z=1"
    )


def test_query_values_are_kept_as_written() -> None:
    url = "https://example.com/img?url=https%3A%2F%2Fx.example%2Fa.jpg&sig=ab%3D="
    assert canonical_url(url) == (
        "https://example.com/img?sig=ab%3D=&url=https%3A%2F%2Fx.example%2Fa.jpg"
    )


def test_empty_query_and_empty_pairs_are_dropped() -> None:
    assert canonical_url("https://example.com/a?") == "https://example.com/a"
    assert canonical_url("https://example.com/a?&&b=1&") == "https://example.com/a?b=1"
    assert canonical_url("https://example.com/a?utm_source=x") == "https://example.com/a"


def test_userinfo_is_dropped() -> None:
    assert canonical_url("https://user:secret@example.com/a") == "https://example.com/a"


def test_idna_hosts_match_their_punycode_form() -> None:
    assert canonical_url("https://Bücher.example/a") == "https://xn--bcher-kva.example/a"
    assert canonical_url("https://xn--bcher-kva.example/a") == "https://xn--bcher-kva.example/a"


def test_trailing_dot_on_the_host_is_dropped() -> None:
    assert canonical_url("https://example.com./a") == "https://example.com/a"


def test_ipv6_and_ip_hosts() -> None:
    assert canonical_url("http://[::1]:80/a/") == "http://[::1]/a"
    assert canonical_url("http://[::1]:8080/a") == "http://[::1]:8080/a"
    assert canonical_url("http://127.0.0.1/a") == "http://127.0.0.1/a"


def test_surrounding_whitespace_is_ignored() -> None:
    assert canonical_url("  https://example.com/a \n") == "https://example.com/a"


def test_seed_urls_with_www_and_trailing_slash() -> None:
    assert canonical_url(
        "https://www.gizmodo.com.au/2020/06/lets-kill-facial-recognition-for-good/"
    ) == ("https://gizmodo.com.au/2020/06/lets-kill-facial-recognition-for-good")


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/a",
        "javascript:alert(1)",
        "mailto:someone@example.com",
        "/relative/path",
        "example.com/a",
        "https://",
        "http:///a",
        "https://example.com:99999/",
        "https://example.com:port/",
        "http://[::1/a",
        "",
    ],
)
def test_non_http_or_hostless_urls_raise_value_error(url: str) -> None:
    with pytest.raises(ValueError):
        canonical_url(url)


hosts = st.from_regex(r"(www\.)?[a-zA-Z0-9-]{1,12}(\.[a-zA-Z]{2,6}){1,2}", fullmatch=True)
paths = st.text(string.ascii_letters + string.digits + "-_.~%/!$'()*+,;=:@", max_size=30)
queries = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "id", "utm_source", "UTM_x", "fbclid", "gclid", "q"]),
        st.text(string.ascii_letters + string.digits + "%-._~=", max_size=8),
    ),
    max_size=5,
).map(lambda pairs: "&".join(f"{k}={v}" for k, v in pairs))
fragments = st.text(string.ascii_letters + "#?/", max_size=8)


@settings(max_examples=300, deadline=500)
@given(st.sampled_from(["http", "https", "HtTpS"]), hosts, paths, queries, fragments)
def test_canonical_url_is_idempotent_and_the_same_whatever_way_it_is_read(
    scheme: str, host: str, path: str, query: str, fragment: str
) -> None:
    """The plain-URL fast path and the urlsplit path agree: a default port or userinfo
    (which take the urlsplit path) never changes the result."""
    tail = "/" + path + ("?" + query if query else "") + ("#" + fragment if fragment else "")
    url = f"{scheme}://{host}{tail}"
    default_port = 443 if scheme.lower() == "https" else 80
    canonical = canonical_url(url)
    assert canonical_url(canonical) == canonical
    assert canonical_url(f"{scheme}://{host}:{default_port}{tail}") == canonical
    assert canonical_url(f"{scheme}://someone@{host}{tail}") == canonical
    # (the path and values may spell "fbclid" too: only keys are tracking parameters)
    keys = [pair.partition("=")[0].lower() for pair in canonical.partition("?")[2].split("&")]
    assert not any(key.startswith("utm_") or key in ("fbclid", "gclid") for key in keys)
    assert "#" not in canonical


url_like = st.lists(
    st.sampled_from(
        [
            "http",
            "HTTPS",
            "://",
            "www.",
            "a",
            "é",
            "-",
            "_",
            ".",
            ":80",
            "@",
            "/",
            "?",
            "#",
            "=",
            "&",
            " ",
            "\t",
            "\x7f",
            "\x85",
            "\xa0",
            "%20",
            "[::1]",
            "x" * 20,
        ]
    )
    | st.characters(),
    max_size=14,
).map("".join)


@settings(max_examples=1000, deadline=None)
@given(url_like | st.builds("{}://{}{}".format, st.sampled_from(["http", "https"]), hosts, paths))
def test_the_quick_plain_url_check_agrees_with_the_plain_url_pattern(url: str) -> None:
    assert is_plain_http_url(url) == (PLAIN_HTTP_URL.fullmatch(url) is not None)


# ---------------------------------------------------------------------------------------------
# Percent-encoding: one spelling of the path and query


def test_escaped_unreserved_characters_are_decoded() -> None:
    assert canonical_url("https://example.com/a%7eb") == canonical_url("https://example.com/a~b")
    assert (
        canonical_url("https://example.com/%41%2d%5F%2E?%6B=%76") == "https://example.com/A-_.?k=v"
    )


def test_non_ascii_is_escaped_as_utf8_with_uppercase_hex() -> None:
    assert canonical_url("https://example.com/ä") == "https://example.com/%C3%A4"
    assert canonical_url("https://example.com/%c3%a4") == "https://example.com/%C3%A4"
    assert canonical_url("https://example.com/?q=日") == canonical_url(
        "https://example.com/?q=%E6%97%A5"
    )


def test_reserved_characters_keep_their_meaning() -> None:
    assert canonical_url("https://example.com/a%2fb") == "https://example.com/a%2Fb"
    assert canonical_url("https://example.com/a%2Fb") != canonical_url("https://example.com/a/b")
    assert canonical_url("https://example.com/a%2F") == "https://example.com/a%2F"
    assert canonical_url("https://example.com/?a=1%262") != canonical_url(
        "https://example.com/?a=1&2"
    )
    assert canonical_url("https://example.com/?a=%3d") == "https://example.com?a=%3D"


def test_tracking_parameters_are_dropped_however_they_are_escaped() -> None:
    assert canonical_url("https://example.com/?%75tm_source=x&id=1") == "https://example.com?id=1"


def test_a_lone_percent_sign_is_escaped_so_the_key_stays_one() -> None:
    assert canonical_url("https://example.com/100%") == "https://example.com/100%25"
    assert canonical_url("https://example.com/%%34%31") == "https://example.com/%2541"


UNRESERVED = string.ascii_letters + string.digits + "-._~"
# characters of a path that are neither unreserved nor escaped-equivalent to anything else
PATH_OTHER = "/!$'()*+,;=:@"


def spelled(draw: st.DrawFn, char: str) -> str:
    """``char`` as written, or percent-escaped (UTF-8, hex in either case) unless reserved."""
    if char in PATH_OTHER or not draw(st.booleans()):
        return char
    escaped = "".join(f"%{byte:02X}" for byte in char.encode())
    return escaped.lower() if draw(st.booleans()) else escaped


equivalent_chars = st.sampled_from(UNRESERVED) | st.characters(
    min_codepoint=0xA0, exclude_categories=("Cs", "Zs", "Zl", "Zp", "Cc")
)


@st.composite
def two_spellings(draw: st.DrawFn) -> tuple[str, str]:
    """One path and query written two ways that differ only in escaping."""
    pieces = draw(st.lists(equivalent_chars | st.sampled_from(PATH_OTHER), max_size=12))
    values = draw(st.lists(equivalent_chars, max_size=6))
    first = "/" + "".join(spelled(draw, c) for c in pieces)
    second = "/" + "".join(spelled(draw, c) for c in pieces)
    if values:
        first += "?k=" + "".join(spelled(draw, c) for c in values)
        second += "?k=" + "".join(spelled(draw, c) for c in values)
    return first, second


@settings(max_examples=400, deadline=None)
@given(hosts, two_spellings())
def test_escaped_and_unescaped_spellings_are_one_key(host: str, spellings: tuple[str, str]) -> None:
    first, second = spellings
    canonical = canonical_url(f"https://{host}{first}")
    assert canonical_url(f"https://{host}{second}") == canonical
    assert canonical.isascii()
    assert canonical_url(canonical) == canonical


SOUP = [
    "%", "%2", "%2F", "%2f", "%7e", "%7E", "%25", "%C3%A4", "%c3", "%zz", "/", "?", "&", "=",
    "a", "~", "ä", "日", "\U0001f600", "+", "#",
]  # fmt: skip
escape_soup = st.lists(
    st.sampled_from(SOUP) | st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp")),
    max_size=16,
).map("".join)


@settings(max_examples=600, deadline=None)
@given(hosts, escape_soup)
def test_canonical_url_is_idempotent_for_any_escapes(host: str, tail: str) -> None:
    canonical = canonical_url(f"https://{host}/{tail}")
    assert canonical_url(canonical) == canonical


def test_every_leading_www_goes_so_a_canonical_url_is_canonical_again() -> None:
    # found by the idempotence property on a CI run: one www. dropped left another
    assert canonical_url("http://www.WWW.AA.AA") == "http://aa.aa"
    assert canonical_url("https://www.www.example.com/a") == "https://example.com/a"
    assert canonical_url("https://www.www.com/x") == "https://www.com/x"  # a host is kept whole
