"""Deterministic generator of article files shaped like ``seeds/`` (stdlib only, no network).

``generate(out_dir, n, seed=...)`` writes ``n`` files ``dNNNN/NNNNNNN_<hex>.txt`` (1,000 a folder);
``iter_records(n, seed=...)`` yields the same articles as plain dicts, equal to what
``yaml.safe_load`` returns for each file's front matter, so benchmarks can bulk-load 1M articles
without YAML; ``iter_files`` yields ``(relative path, text)`` without touching the disk.

What the corpus contains (all decided by one seeded ``random.Random`` per stream):

* titles from templates over word lists (mostly unique; plain ``'``, ``-`` and ``"`` in many);
* excerpts of 100-250 characters, sometimes with typographic quotes and dashes, rarely a ``\\``;
* ``publishedDateTime`` spread over two years (2019-07-01 .. 2021-06-30, whole minutes, ``Z``);
* ~200 providers (``name``, ``domain``, most with ``images[0].url``), each with its own URL style;
* 1-3 topics from a vocabulary of 60 (skewed: "AI" on most articles, some topics rare);
* ~30% ``published: true``; ``heat`` -1 on ~40%;
* 0-4 ``related`` entries: mostly other articles of the corpus (a window of neighbouring files,
  sometimes at a URL that differs but canonicalises alike), some articles outside the corpus
  (stubs);
* ~5% of files are a second URL of an earlier file's story: same title (sometimes with a
  typographic apostrophe/dash/quote variant or another capitalisation), another provider,
  published within 2 days of it, same topics.

Every file's ``webUrl`` has its own canonical URL (DESIGN §3), so ``n_articles_expected`` is the
number of files; ``n_related_stubs`` counts the distinct canonical URLs named only in related lists.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from random import Random
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

FILES_PER_DIR = 1000
WINDOW = 50  # related entries and two-URL stories point at files at most this far away
TWIN_SHARE = 0.0526  # ~5% of files end up a second URL of a story (targets that are twins skip)
PUBLISHED_SHARE = 0.30
EXTERNAL_RELATED_SHARE = 0.2  # related entries naming an article that has no file of its own
_START = datetime(2019, 7, 1, tzinfo=UTC)
_SPAN_MINUTES = 730 * 24 * 60
_TWO_DAYS = 2 * 24 * 60

# --------------------------------------------------------------------------------------------
# Vocabulary

TOPICS = (
    "AI", "Machine Learning", "Deep Learning", "Robotics", "Computer Vision",
    "Natural Language Processing", "Reinforcement Learning", "Generative AI",
    "Large Language Models", "Speech Recognition", "Autonomous Vehicles", "Drones",
    "Healthcare AI", "Medical Imaging", "Drug Discovery", "Bioinformatics", "Edge Computing",
    "Cloud Computing", "Quantum Computing", "Semiconductors", "Cybersecurity", "Privacy",
    "AI Ethics", "AI Regulation", "Facial Recognition", "Surveillance", "Fintech", "Data Science",
    "Big Data", "Internet of Things", "Smart Cities", "Agriculture Tech", "Climate Tech", "Energy",
    "Education Tech", "Gaming", "Virtual Reality", "Augmented Reality", "Wearables", "Chatbots",
    "Recommender Systems", "Search", "Machine Translation", "Open Source", "MLOps",
    "Neural Networks", "Explainable AI", "Federated Learning", "Synthetic Data", "Humanoid Robots",
    "Industrial Automation", "Supply Chain", "Retail Tech", "Legal Tech", "Creative AI",
    "Music AI", "Neuroscience", "Space Tech", "Startups", "Venture Capital",
)  # fmt: skip
# Other spellings an operator would alias (DESIGN §3 [topics] aliases, matching ignores case).
_TOPIC_SPELLINGS = {
    "AI": ("Artificial Intelligence", "ai"),
    "Natural Language Processing": ("NLP",),
    "Computer Vision": ("computer vision",),
    "Machine Learning": ("machine learning", "ML"),
}

_ORGS = (
    "OpenAI", "DeepMind", "Google", "Microsoft", "Meta", "Amazon", "Apple", "Nvidia", "IBM",
    "Intel", "AMD", "Baidu", "Alibaba", "Tencent", "Samsung", "Sony", "Tesla", "Boston Dynamics",
    "Anthropic", "Hugging Face", "Stability AI", "Cohere", "Databricks", "Snowflake", "Palantir",
    "Salesforce", "Oracle", "SAP", "Adobe", "Qualcomm", "Arm", "Graphcore", "Cerebras", "Waymo",
    "Cruise", "Aurora", "Zoox", "Mobileye", "iRobot", "Agility Robotics", "Clearview AI",
    "Stanford", "MIT", "Carnegie Mellon", "Berkeley", "Oxford", "Cambridge", "ETH Zurich",
    "Tsinghua", "the EU", "the FDA", "the Pentagon", "DARPA", "NASA", "the White House",
    "UK regulators", "Siemens", "Bosch", "Toyota", "Uber",
)  # fmt: skip
_ADJS = (
    "new", "open-source", "faster", "cheaper", "smarter", "tiny", "massive", "multimodal",
    "autonomous", "self-driving", "real-time", "low-power", "privacy-preserving", "explainable",
    "generative", "humanoid", "experimental", "controversial", "next-generation", "unified",
    "energy-efficient", "federated", "robust", "lightweight", "general-purpose", "on-device",
    "bio-inspired", "secure", "ethical", "trillion-parameter", "collaborative", "adaptive",
    "wearable", "industrial", "medical", "agricultural", "synthetic", "interactive",
    "conversational", "modular",
)  # fmt: skip
_THINGS = (
    "model", "chip", "robot", "chatbot", "assistant", "dataset", "benchmark", "framework",
    "language model", "vision system", "drone", "sensor", "platform", "algorithm",
    "supercomputer", "accelerator", "search engine", "translation tool", "recommendation engine",
    "camera", "prosthetic hand", "exoskeleton", "delivery robot", "warehouse robot",
    "code generator", "image generator", "voice cloning tool", "fraud detector",
    "diagnostic tool", "weather model", "protein model", "simulator", "agent", "copilot",
    "database", "compiler", "toolkit", "API", "app", "headset", "browser", "smart speaker",
    "robotaxi", "microscope", "satellite", "battery", "neural network", "transformer",
    "quantum processor", "edge device",
)  # fmt: skip
_VERBS3 = (
    "beats humans at", "outperforms rivals on", "struggles with", "rethinks", "speeds up",
    "automates", "transforms", "disrupts", "tackles", "predicts", "detects", "translates", "maps",
    "explains", "secures", "simplifies", "reinvents", "powers", "challenges", "redefines",
    "scales", "cuts the cost of", "learns", "sees through", "listens to", "writes", "designs",
    "tests", "fixes", "hunts for", "tracks", "monitors", "reads", "generates", "diagnoses",
    "forecasts", "cleans up", "protects", "accelerates", "audits",
)  # fmt: skip
_OBJECTS = (
    "protein folding", "traffic jams", "medical scans", "legal contracts", "weather patterns",
    "supply chains", "crop yields", "credit risk", "cyberattacks", "deepfakes", "hate speech",
    "customer support", "code reviews", "chip design", "drug trials", "warehouse picking", "fraud",
    "job interviews", "climate data", "satellite images", "sign language", "ancient texts",
    "wildfire smoke", "power grids", "cancer screening", "student essays", "spam", "podcasts",
    "music charts", "movie scripts", "retail shelves", "city buses", "factory floors",
    "hospital wards", "bank loans", "insurance claims", "news feeds", "search results",
    "video calls", "online ads", "smart homes", "Mars rovers", "ocean data", "bird songs",
    "handwriting", "emotions", "dark matter", "earthquakes", "elections", "passwords",
)  # fmt: skip
_SECTORS = (
    "healthcare", "finance", "retail", "manufacturing", "logistics", "education", "agriculture",
    "energy", "law", "journalism", "insurance", "banking", "transport", "defense", "gaming",
    "music", "film", "construction", "mining", "telecom", "real estate", "hospitality",
    "policing", "government", "science", "sports", "fashion", "advertising", "aviation",
    "shipping", "pharma", "biotech", "cybersecurity", "customer service", "HR", "accounting",
    "architecture", "publishing", "space", "e-commerce",
)  # fmt: skip
_VERBS_BASE = (
    "replace", "fix", "save", "kill", "stop", "solve", "end", "beat", "rescue", "transform",
    "automate", "explain", "protect", "regulate", "fund", "understand", "predict", "disrupt",
    "outgrow", "democratize",
)  # fmt: skip
_VERBS_PAST = (
    "built", "trained", "tested", "released", "demonstrated", "open-sourced", "developed",
    "designed", "taught", "created",
)  # fmt: skip
_QUALIFIERS = (
    "report", "study finds", "analysis", "sources say", "here's why", "what we know",
    "and what it means", "explained", "hands-on", "first look", "exclusive", "opinion",
    "live updates", "in pictures", "podcast", "video", "review", "interview", "a timeline",
    "the data",
)  # fmt: skip
_PHRASES = (
    "a new era", "no silver bullet", "a turning point", "just the beginning", "not ready yet",
    "a game changer", "overhyped", "inevitable", "too risky", "a wake-up call",
    "the next big thing", "unstoppable", "a bubble", "a milestone", "deeply flawed",
    "mission critical", "years away", "already here", "a team effort", "good for everyone",
)  # fmt: skip
_FIRST = (
    "Ana", "Ben", "Chen", "Dana", "Elif", "Femi", "Grace", "Hiro", "Ines", "Jonas", "Kavya", "Luca",
    "Maya", "Noor", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tara"
)  # fmt: skip
_LAST = (
    "Okafor", "Schmidt", "Nakamura", "Garcia", "Novak", "Haddad", "Lindqvist", "Mensah", "Rossi",
    "Kowalski", "Tanaka", "Dubois", "Patel", "Moreau", "Silva", "Ivanova"
)  # fmt: skip
_ROLES = (
    "chief scientist", "head of research", "a product manager", "CEO", "an analyst", "a professor",
    "CTO", "a spokesperson", "director of engineering", "a senior fellow"
)  # fmt: skip
_REGIONS = (
    "Europe", "the US", "Japan", "India", "Brazil", "Canada", "Australia", "Africa", "South Korea",
    "the UK"
)  # fmt: skip
_MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December"
)  # fmt: skip
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")
_SECTIONS = (
    "technology", "business", "science", "news", "world", "innovation", "tech", "opinion", "money",
    "health"
)  # fmt: skip
_MON = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


class _Rng(Random):
    """``random.Random`` with cheaper (still deterministic) choice/randint/randrange."""

    def choice(self, seq):
        return seq[int(self.random() * len(seq))]

    def randint(self, a: int, b: int) -> int:
        return a + int(self.random() * (b - a + 1))

    def randrange(self, start, stop=None, step=1):  # only randrange(stop) is used here
        if stop is None and step == 1:
            return int(self.random() * start)
        return super().randrange(start, stop, step)


def _cap(s: str) -> str:
    return s[0].upper() + s[1:]


def _title(rng: Random) -> str:
    c = rng.choice
    t = rng.randrange(12)
    if t == 0:
        s = f"{c(_ORGS)} unveils {c(_ADJS)} {c(_THINGS)} for {c(TOPICS)}"
    elif t == 1:
        s = f"{c(_ORGS)}'s {c(_ADJS)} {c(_THINGS)} {c(_VERBS3)} {c(_OBJECTS)}"
    elif t == 2:
        s = f"How {c(_ORGS)} uses its {c(_ADJS)} {c(_THINGS)} to {c(_VERBS_BASE)} {c(_OBJECTS)}"
    elif t == 3:
        a, b = rng.sample(_ORGS, 2)
        s = f"{a} and {b} team up on {c(_ADJS)} {c(_THINGS)} for {c(_SECTORS)}"
    elif t == 4:
        s = (
            f"Why {c(_ADJS)} {c(_THINGS)} tech can't {c(_VERBS_BASE)} {c(_OBJECTS)} "
            f"in {c(_SECTORS)} yet"
        )
    elif t == 5:
        s = f"{c(TOPICS)}: {c(_ORGS)} {c(_VERBS3)} {c(_OBJECTS)} - {c(_QUALIFIERS)}"
    elif t == 6:
        s = (
            f"Researchers {c(_VERBS_PAST)} a {c(_ADJS)} {c(_THINGS)} that {c(_VERBS3)} "
            f"{c(_OBJECTS)}"
        )
    elif t == 7:
        s = (
            f"Opinion | {c(_ORGS)}'s {c(_ADJS)} {c(_THINGS)} won't {c(_VERBS_BASE)} "
            f"{c(_SECTORS)} on its own"
        )
    elif t == 8:
        s = f'{c(_ORGS)} says "{c(_PHRASES)}" as {c(_SECTORS)} {c(_VERBS3)} {c(_OBJECTS)}'
    elif t == 9:
        s = (
            f"{rng.randint(3, 12)} things to know about {c(_ORGS)}'s {c(_ADJS)} {c(_THINGS)} "
            f"for {c(_SECTORS)}"
        )
    elif t == 10:
        s = (
            f"{c(_ORGS)} raises ${rng.randint(2, 400)}M to bring {c(_ADJS)} {c(_THINGS)} "
            f"to {c(_SECTORS)}"
        )
    else:
        s = (
            f"The {c(_ADJS)} race to {c(_VERBS_BASE)} {c(_OBJECTS)} in {c(_SECTORS)} - "
            f"{c(_QUALIFIERS)}"
        )
    return _cap(s)


def _sentence(rng: Random, t: int) -> str:
    c = rng.choice
    if t == 0:
        return (
            f"{_cap(c(_ORGS))} on {c(_WEEKDAYS)} announced a {c(_ADJS)} {c(_THINGS)} that "
            f"it says {c(_VERBS3)} {c(_OBJECTS)} faster than existing tools."
        )
    if t == 1:
        return (
            f"The company’s researchers spent {rng.randint(2, 30)} months training the "
            f"system on data from {c(_SECTORS)} and {c(_SECTORS)}."
        )
    if t == 2:
        return (
            f"Critics warn that the technology could be misused for {c(_OBJECTS)}, while "
            f"supporters call it “{c(_PHRASES)}”."
        )
    if t == 3:
        return (
            f"The move comes as {c(_SECTORS)} firms race to adopt {c(TOPICS)} – and "
            f"regulators struggle to keep up."
        )
    if t == 4:
        return (
            f"“We think this is {c(_PHRASES)},” said {c(_FIRST)} {c(_LAST)}, {c(_ROLES)} "
            f"at {c(_ORGS)}."
        )
    if t == 5:
        return (
            f"Early tests show the {c(_THINGS)} {c(_VERBS3)} {c(_OBJECTS)} with "
            f"{rng.randint(5, 90)}% fewer errors than last year’s version."
        )
    if t == 6:
        return (
            f"It is the latest in a string of {c(TOPICS)} announcements from {c(_ORGS)} this year."
        )
    if t == 7:
        return (
            f"The {c(_THINGS)} will be available to customers in {c(_REGIONS)} starting in "
            f"{c(_MONTHS)}."
        )
    if t == 8:
        return f'{c(_FIRST)} {c(_LAST)} called the results "{c(_PHRASES)}" in a statement.'
    if rng.random() < 0.1:
        return f"On Windows the weights install under C:\\{c(_LAST)}\\models by default."
    year = rng.randint(2022, 2030)
    return f"Analysts expect {c(_SECTORS)} spending on {c(TOPICS)} to double by {year}."


def _excerpt(rng: Random) -> str:
    kinds = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
    rng.shuffle(kinds)  # no template twice in one excerpt
    order = iter(kinds)
    s = _sentence(rng, next(order))
    while len(s) < 100:
        s = f"{s} {_sentence(rng, next(order))}"
    if len(s) > 250:
        s = s[:246].rsplit(" ", 1)[0] + " ..."
    return s


_TYPO = str.maketrans({"'": "’", '"': "“"})


def _title_variant(rng: Random, title: str) -> str:
    """The same headline as another outlet prints it: normalises (DESIGN §3) to the same text."""
    r = rng.random()
    if r < 0.45:
        v = title.translate(_TYPO).replace(" - ", rng.choice((" – ", " — ")))
        if v.count("“") == 2:  # the closing quote is the second one
            head, _, tail = v.rpartition("“")
            v = f"{head}”{tail}"
        return v
    if r < 0.55:
        return " ".join(w[:1].upper() + w[1:] for w in title.split(" "))
    return title


# --------------------------------------------------------------------------------------------
# Providers (a fixed pool, the same for every seed)

_ICON = (
    "https://smartableai.github.io/artificial-intelligence/assets/images/organizations/{}-50x50.jpg"
)


@dataclass(frozen=True, slots=True)
class _Provider:
    name: str
    domain: str
    host: str  # host of its article URLs
    style: int  # URL layout, see _urls()
    icon: str | None
    img_host: str


def _providers() -> tuple[_Provider, ...]:
    rng = _Rng(20200625)
    seen: set[str] = set()
    out: list[_Provider] = []

    def add(name: str, domain: str, host: str) -> None:
        if domain in seen:
            return
        seen.add(domain)
        icon = _ICON.format(domain) if rng.random() < 0.6 else None
        img = rng.choice(
            (
                f"cdn.{domain}",
                f"images.{domain}",
                f"static.{domain}",
                f"media.{domain.partition('.')[0]}-cdn.net",
            )
        )
        out.append(_Provider(name, domain, host, rng.randrange(6), icon, img))

    for name, domain, host in (
        ("Gizmodo", "gizmodo.com", "gizmodo.com"),
        ("Gizmodo Australia", "gizmodo.com.au", "www.gizmodo.com.au"),
        ("paleofuture.gizmodo", "paleofuture.gizmodo.com", "paleofuture.gizmodo.com"),
        ("CoinDesk", "coindesk.com", "www.coindesk.com"),
        ("The Guardian", "theguardian.com", "www.theguardian.com"),
        ("GeekWire", "geekwire.com", "www.geekwire.com"),
        ("Mashable", "mashable.com", "mashable.com"),
        ("Mic", "mic.com", "www.mic.com"),
        ("The Business Journals", "bizjournals.com", "www.bizjournals.com"),
        ("Mint", "livemint.com", "www.livemint.com"),
        ("Washington Examiner", "washingtonexaminer.com", "www.washingtonexaminer.com"),
        ("Windows", "compsmag.com", "www.compsmag.com"),
        ("Bring Me The News", "bringmethenews.com", "bringmethenews.com"),
        ("StamfordAdvocate", "stamfordadvocate.com", "www.stamfordadvocate.com"),
        ("CBS Local", "cbslocal.com", "newyork.cbslocal.com"),
        ("WEAU", "weau.com", "www.weau.com"),
        ("Amnesty UK", "amnesty.org.uk", "www.amnesty.org.uk"),
        ("Fox 9", "fox9.com", "www.fox9.com"),
        ("O'Reilly Radar", "oreilly.com", "www.oreilly.com"),
        ("AT&T Tech Channel", "techchannel.att.com", "techchannel.att.com"),
    ):
        add(name, domain, host)
    first = (
        "Tech", "Data", "Future", "Silicon", "Neural", "Quantum", "Digital", "Robot", "Cyber",
        "Cloud", "Pixel", "Signal", "Vector", "Tensor", "Circuit", "Byte", "Machine", "Smart",
        "Next", "Deep", "Open", "Code", "Logic", "Compute", "Wired", "Bright", "Atomic", "Orbit",
        "Nano", "Frontier"
    )  # fmt: skip
    second = (
        "Wire", "Daily", "Times", "Journal", "Insider", "Review", "Post", "Report", "Beat", "Hub",
        "Herald", "Monitor", "Chronicle", "Weekly", "Digest", "Observer", "Brief", "Gazette", "Lab",
        "Radar"
    )  # fmt: skip
    tlds = (".com", ".com", ".com", ".io", ".net", ".org", ".co.uk", ".com.au", ".de", ".ai")
    while len(out) < 200:
        a, b = rng.choice(first), rng.choice(second)
        name = f"{a}{b}" if rng.random() < 0.3 else f"{a} {b}"
        domain = f"{a}{b}".lower() + rng.choice(tlds)
        r = rng.random()
        host = f"www.{domain}" if r < 0.6 else domain if r < 0.9 else f"news.{domain}"
        add(name, domain, host)
    return tuple(out)


PROVIDERS = _providers()
_TOPIC_WEIGHTS = [1.0 / (k + 2) for k in range(len(TOPICS) - 1)]  # for topics other than "AI"


# --------------------------------------------------------------------------------------------
# One article's own fields ("core"), before related entries


@dataclass(slots=True)
class _Core:
    index: int  # file index, or -1 for an article outside the corpus
    title: str
    excerpt: str
    date: int  # minutes since _START
    prov: _Provider
    urls: tuple[str, str | None, str | None]  # webUrl, ampWebUrl, cdnAmpWebUrl
    quality: int
    topics: tuple[str, ...]
    image: tuple[str, int, int] | None  # url, width, height
    twin_of: int  # index of the story's first file, or -1


_SLUG_RE = re.compile(r"[^a-z0-9]+")


def _slug(title: str) -> str:
    s = _SLUG_RE.sub("-", title.lower().replace("'", "").replace("’", "")).strip("-")
    if len(s) > 70:
        s = s[:70].rsplit("-", 1)[0]
    return s


def _urls(p: _Provider, slug: str, uid: int, minute: int, rng: Random):
    d = _START + timedelta(minutes=minute)
    host = p.host
    style = p.style
    if style == 0:
        path = f"/{slug}-{uid}"
        amp_host, amp_path = host, f"{path}/amp"
    elif style == 1:
        path = f"/{d.year}/{d.month:02d}/{d.day:02d}/{slug}-{uid}/"
        amp_host, amp_path = host, f"{path}amp/"
    elif style == 2:
        path = f"/{rng.choice(_SECTIONS)}/{d.year}/{_MON[d.month - 1]}/{d.day:02d}/{slug}-{uid}"
        amp_host, amp_path = f"amp.{p.domain}", path
    elif style == 3:
        path = f"/{rng.choice(_SECTIONS)}/{slug}-{uid}.html"
        amp_host, amp_path = host, f"{path[:-5]}.amp.html"
    elif style == 4:
        path = f"/p/{slug}-{uid}"
        amp_host, amp_path = host, f"{path}?amp=1"
    else:
        path = f"/news/{rng.choice(_SECTIONS)}/{uid}/{slug}"
        amp_host, amp_path = host, f"{path}?_amp=true"
    web = f"https://{host}{path}"
    if rng.random() < 0.05:
        web += "?utm_source=rss&utm_medium=feed"
    if rng.random() < 0.15:
        return web, None, None
    cdn_host = amp_host.replace("-", "--").replace(".", "-")
    return (
        web,
        f"https://{amp_host}{amp_path}",
        f"https://{cdn_host}.cdn.ampproject.org/c/s/{amp_host}{amp_path}",
    )


def _topics(rng: Random) -> tuple[str, ...]:
    k = rng.choices((1, 2, 3), (3, 4, 3))[0]
    picked: list[str] = []
    if rng.random() < 0.6:
        picked.append("AI")
    while len(picked) < k:
        t = rng.choices(TOPICS[1:], _TOPIC_WEIGHTS)[0]
        if t not in picked:
            picked.append(t)
    rng.shuffle(picked)
    return tuple(
        rng.choice(_TOPIC_SPELLINGS[t]) if t in _TOPIC_SPELLINGS and rng.random() < 0.03 else t
        for t in picked
    )


def _image(rng: Random, p: _Provider, minute: int):
    if rng.random() < 0.15:
        return None
    d = _START + timedelta(minutes=minute)
    w = rng.choice((600, 620, 800, 980, 1200, 1600, 1889, 2290))
    h = w * rng.randint(45, 75) // 100
    url = f"https://{p.img_host}/uploads/{d.year}/{d.month:02d}/{rng.getrandbits(48):012x}.jpg"
    return url, w, h


def _quality(rng: Random) -> int:
    return round(rng.triangular(0, 100, 60))


def _new_core(rng: Random, index: int, uid: int, minute: int, prior: dict[int, _Core]) -> _Core:
    """The own fields of file ``index`` (or, with index -1, of an article outside the corpus)."""
    if index > 0 and rng.random() < TWIN_SHARE:
        j = index - rng.randint(1, min(WINDOW, index))
        first = prior[j]
        if first.twin_of < 0:
            prov = rng.choice(PROVIDERS)
            while prov.domain == first.prov.domain:
                prov = rng.choice(PROVIDERS)
            title = _title_variant(rng, first.title)
            minute = min(max(first.date + rng.randint(-_TWO_DAYS, _TWO_DAYS), 0), _SPAN_MINUTES - 1)
            excerpt = first.excerpt if rng.random() < 0.5 else _excerpt(rng)
            return _Core(
                index,
                title,
                excerpt,
                minute,
                prov,
                _urls(prov, _slug(title), uid, minute, rng),
                _quality(rng),
                first.topics,
                _image(rng, prov, minute),
                j,
            )
    prov = rng.choice(PROVIDERS)
    title = _title(rng)
    return _Core(
        index,
        title,
        _excerpt(rng),
        minute,
        prov,
        _urls(prov, _slug(title), uid, minute, rng),
        _quality(rng),
        _topics(rng) if index >= 0 else (),
        _image(rng, prov, minute),
        -1,
    )


# --------------------------------------------------------------------------------------------
# Records (what yaml.safe_load returns for a file's front matter)


def _dt(minute: int) -> datetime:
    return _START + timedelta(minutes=minute)


def _url_variant(rng: Random, url: str) -> str:
    """Another spelling of ``url`` with the same canonical URL (DESIGN §3 identity)."""
    scheme, rest = url.split("://", 1)
    host, _, path = rest.partition("/")
    r = rng.randrange(4)
    if r == 0:
        host = host[4:] if host.startswith("www.") else f"www.{host}"
    elif r == 1:
        host = host.upper()
    elif r == 2:
        return url + ("&" if "?" in url else "?") + "utm_campaign=related&fbclid=abc123"
    elif "?" not in path:
        path = path[:-1] if path.endswith("/") else f"{path}/"
    return f"{scheme}://{host}/{path}"


def _related_entry(rng: Random, c: _Core, *, external: bool) -> dict[str, Any]:
    web, amp, cdn = c.urls
    minute = c.date
    quality = c.quality
    excerpt = c.excerpt
    if not external:
        if rng.random() < 0.15:
            web = _url_variant(rng, web)
        if rng.random() < 0.1:
            minute = max(0, minute - rng.randint(1, 600))
        if rng.random() < 0.1:
            quality = _quality(rng)
        if rng.random() < 0.3:
            excerpt = _excerpt(rng)
    e: dict[str, Any] = {
        "title": c.title,
        "excerpt": excerpt,
        "publishedDateTime": _dt(minute),
        "webUrl": web,
    }
    if amp is not None and rng.random() < 0.85:
        e["ampWebUrl"] = amp
        e["cdnAmpWebUrl"] = cdn
    e["type"] = "article"
    e["provider"] = {"name": c.prov.name, "domain": c.prov.domain}
    e["quality"] = quality
    if c.image is not None and rng.random() < 0.8:
        url, w, h = c.image
        e["images"] = [{"url": url, "width": w, "height": h, "isCached": True}]
    return e


def _record(rng: Random, c: _Core, related: list[dict[str, Any]]) -> dict[str, Any]:
    web, amp, cdn = c.urls
    r = rng.random()
    rec: dict[str, Any] = {
        "category": "news" if r < 0.9 else "blog" if r < 0.96 else "research",
        "title": c.title,
        "excerpt": c.excerpt,
        "publishedDateTime": _dt(c.date),
    }
    if rng.random() < 0.1:
        rec["originalUrl"] = web
    rec["webUrl"] = web
    if amp is not None:
        rec["ampWebUrl"] = amp
        rec["cdnAmpWebUrl"] = cdn
    rec["type"] = "article" if rng.random() < 0.95 else "video"
    rec["quality"] = c.quality
    rec["heat"] = -1 if rng.random() < 0.4 else rng.randint(0, 100)
    rec["published"] = rng.random() < PUBLISHED_SHARE
    prov: dict[str, Any] = {"name": c.prov.name, "domain": c.prov.domain}
    if c.prov.icon is not None:
        prov["images"] = [{"url": c.prov.icon, "width": 50, "height": 50}]
    rec["provider"] = prov
    rec["topics"] = list(c.topics)
    if c.image is not None:
        url, w, h = c.image
        rec["images"] = [{"url": url, "width": w, "height": h, "isCached": True, "title": c.title}]
    if related:
        rec["related"] = related
    rec["secured"] = (
        base64.b64encode(rng.randbytes(256)).decode("ascii")
        + ";"
        + base64.b64encode(rng.randbytes(16)).decode("ascii")
    )
    return rec


def _iter_items(n: int, seed: int) -> Iterator[tuple[str, dict[str, Any], _Core]]:
    """(relative path, record, core) for files 0..n-1, in order; two independent random streams
    (own fields, computed WINDOW files ahead; and related/secured/file names) keep it deterministic
    while related entries name files on both sides."""
    if n < 0:
        raise ValueError("n must be >= 0")
    core_rng = _Rng(f"newsbot-bench-core-{seed}")
    rng = _Rng(f"newsbot-bench-detail-{seed}")
    cores: dict[int, _Core] = {}
    made = 0
    external_uid = 0

    def make(k: int) -> None:
        minute = core_rng.randrange(_SPAN_MINUTES)
        cores[k] = _new_core(
            core_rng, k, 1_000_000_000 + k * 97 + core_rng.randrange(97), minute, cores
        )

    for i in range(n):
        while made < n and made <= i + WINDOW:
            make(made)
            made += 1
        cores.pop(i - WINDOW - 1, None)
        c = cores[i]
        related: list[dict[str, Any]] = []
        k = rng.choices((0, 1, 2, 3, 4), (15, 25, 25, 20, 15))[0]
        if k:
            lo, hi = max(0, i - WINDOW), min(n, i + WINDOW + 1)
            pool = [j for j in rng.sample(range(lo, hi), min(k + 1, hi - lo)) if j != i][:k]
            if c.twin_of >= 0 and c.twin_of not in pool and rng.random() < 0.5:
                pool[-1:] = [c.twin_of]
            for j in pool:
                if rng.random() < EXTERNAL_RELATED_SHARE:
                    external_uid += 1
                    minute = min(max(c.date + rng.randint(-7200, 7200), 0), _SPAN_MINUTES - 1)
                    uid = 2_000_000_000 + external_uid * 13 + rng.randrange(13)
                    related.append(
                        _related_entry(rng, _new_core(rng, -1, uid, minute, cores), external=True)
                    )
                else:
                    related.append(_related_entry(rng, cores[j], external=False))
        rec = _record(rng, c, related)
        rel = f"d{i // FILES_PER_DIR:04d}/{i:07d}_{rng.getrandbits(64):016x}.txt"
        yield rel, rec, c


def iter_records(n: int, *, seed: int = 1) -> Iterator[dict[str, Any]]:
    """The articles of ``generate(out, n, seed=seed)``, each a dict equal to ``yaml.safe_load``
    of that file's front matter (dates as aware UTC datetimes). Fresh objects every time."""
    for _rel, rec, _c in _iter_items(n, seed):
        yield rec


# --------------------------------------------------------------------------------------------
# Rendering (f-strings; same layout as seeds/)

_ESCAPE_RE = re.compile(r'["\\\x00-\x1f\x7f\x85\u2028\u2029]')
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _esc(m: re.Match[str]) -> str:
    ch = m.group()
    return _ESCAPES.get(ch) or f"\\u{ord(ch):04x}"


def yaml_str(s: str) -> str:
    """A YAML double-quoted scalar for ``s`` (safe for any text)."""
    return f'"{_ESCAPE_RE.sub(_esc, s)}"'


_PLAIN_RE = re.compile(r"[A-Za-z][A-Za-z0-9 .&'-]*[A-Za-z0-9.]\Z")
_YAML_WORDS = {"yes", "no", "true", "false", "on", "off", "null", "y", "n"}


def _name(s: str) -> str:
    """Provider names and domains are plain scalars in the seeds; quote the ones that need it."""
    if _PLAIN_RE.match(s) and s.lower() not in _YAML_WORDS:
        return s
    return yaml_str(s)


def _iso(d: datetime) -> str:
    return f"{d.year:04d}-{d.month:02d}-{d.day:02d}T{d.hour:02d}:{d.minute:02d}:00Z"


def render(rec: dict[str, Any]) -> str:
    """The file text for a record from ``iter_records``."""
    out = [
        "---",
        f"category: {rec['category']}",
        f"title: {yaml_str(rec['title'])}",
        f"excerpt: {yaml_str(rec['excerpt'])}",
        f"publishedDateTime: {_iso(rec['publishedDateTime'])}",
    ]
    a = out.append
    if "originalUrl" in rec:
        a(f"originalUrl: {yaml_str(rec['originalUrl'])}")
    a(f"webUrl: {yaml_str(rec['webUrl'])}")
    if "ampWebUrl" in rec:
        a(f"ampWebUrl: {yaml_str(rec['ampWebUrl'])}")
        a(f"cdnAmpWebUrl: {yaml_str(rec['cdnAmpWebUrl'])}")
    a(f"type: {rec['type']}")
    a(f"quality: {rec['quality']}")
    a(f"heat: {rec['heat']}")
    a(f"published: {'true' if rec['published'] else 'false'}")
    a("")
    p = rec["provider"]
    a(f"provider:\n  name: {_name(p['name'])}\n  domain: {_name(p['domain'])}")
    for im in p.get("images", ()):
        a(
            f"  images:\n    - url: {yaml_str(im['url'])}\n      width: {im['width']}\n"
            f"      height: {im['height']}"
        )
    a("")
    a("topics:")
    for t in rec["topics"]:
        a(f"  - {_name(t)}")
    a("")
    if "images" in rec:
        a("images:")
        for im in rec["images"]:
            a(
                f"  - url: {yaml_str(im['url'])}\n    width: {im['width']}\n"
                f"    height: {im['height']}\n    isCached: true\n"
                f"    title: {yaml_str(im['title'])}"
            )
        a("")
    if "related" in rec:
        a("related:")
        for e in rec["related"]:
            a(
                f"  - title: {yaml_str(e['title'])}\n    excerpt: {yaml_str(e['excerpt'])}\n"
                f"    publishedDateTime: {_iso(e['publishedDateTime'])}\n"
                f"    webUrl: {yaml_str(e['webUrl'])}"
            )
            if "ampWebUrl" in e:
                a(
                    f"    ampWebUrl: {yaml_str(e['ampWebUrl'])}\n"
                    f"    cdnAmpWebUrl: {yaml_str(e['cdnAmpWebUrl'])}"
                )
            ep = e["provider"]
            a(
                f"    type: {e['type']}\n    provider:\n      name: {_name(ep['name'])}\n"
                f"      domain: {_name(ep['domain'])}\n    quality: {e['quality']}"
            )
            for im in e.get("images", ()):
                a(
                    f"    images:\n      - url: {yaml_str(im['url'])}\n"
                    f"        width: {im['width']}\n        height: {im['height']}\n"
                    "        isCached: true"
                )
        a("")
    a(f"secured: {yaml_str(rec['secured'])}")
    a("---\n\n")
    return "\n".join(out)


def iter_files(n: int, *, seed: int = 1) -> Iterator[tuple[str, str]]:
    """(relative path, file text) for each file ``generate`` would write, without writing."""
    for rel, rec, _c in _iter_items(n, seed):
        yield rel, render(rec)


# --------------------------------------------------------------------------------------------
# Identity (DESIGN §3), to count what an ingest should end up with

_DROP_PARAMS = {"fbclid", "gclid"}


def canonical_url(url: str) -> str:
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if host.startswith("www."):
        host = host[4:]
    port = parts.port
    if port is not None and (scheme, port) not in (("http", 80), ("https", 443)):
        host = f"{host}:{port}"
    path = parts.path.rstrip("/")
    query = ""
    if parts.query:
        kept = sorted(
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if not k.lower().startswith("utm_") and k.lower() not in _DROP_PARAMS
        )
        if kept:
            query = "?" + urlencode(kept)
    return f"{scheme}://{host}{path}{query}"


@dataclass(frozen=True, slots=True)
class GeneratedCorpus:
    path: Path
    n_files: int
    n_articles_expected: int  # distinct canonical webUrls of the files
    n_related_stubs: int  # distinct canonical urls named only in related lists (stub articles)
    n_two_url_stories: int  # files that are a second URL of an earlier file's story
    n_published: int
    n_bytes: int
    seed: int

    @property
    def n_articles_total(self) -> int:
        return self.n_articles_expected + self.n_related_stubs


def generate(out_dir: Path, n: int, *, seed: int = 1) -> GeneratedCorpus:
    """Write ``n`` article files under ``out_dir`` (created if missing; files of the same names
    are overwritten, others left alone: use a fresh directory). Same n and seed: same bytes."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    file_urls: set[str] = set()
    related_urls: set[str] = set()
    twins = published = n_bytes = 0
    current_dir = ""
    for rel, rec, c in _iter_items(n, seed):
        sub = rel[:5]
        if sub != current_dir:
            (out_dir / sub).mkdir(exist_ok=True)
            current_dir = sub
        data = render(rec).encode("utf-8")
        with open(out_dir / rel, "wb") as fh:
            fh.write(data)
        n_bytes += len(data)
        file_urls.add(canonical_url(rec["webUrl"]))
        for e in rec.get("related", ()):
            related_urls.add(canonical_url(e["webUrl"]))
        twins += c.twin_of >= 0
        published += rec["published"]
    return GeneratedCorpus(
        path=out_dir,
        n_files=n,
        n_articles_expected=len(file_urls),
        n_related_stubs=len(related_urls - file_urls),
        n_two_url_stories=twins,
        n_published=published,
        n_bytes=n_bytes,
        seed=seed,
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m bench.generate", description=__doc__.split("\n")[0]
    )
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--count", type=int, required=True, help="number of files")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    if args.count < 0:
        ap.error("--count must be >= 0")
    t0 = time.perf_counter()
    corpus = generate(args.out_dir, args.count, seed=args.seed)
    summary = asdict(corpus)
    summary["path"] = str(corpus.path)
    summary["n_articles_total"] = corpus.n_articles_total
    summary["seconds"] = round(time.perf_counter() - t0, 3)
    json.dump(summary, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
