"""Where a parse worker's CPU goes, per file, step by step, on a generated corpus (or any
folder): reading, hashing, decoding, the front matter's YAML (the line scanner, and libyaml's
event parser for comparison), the field rules, the rows for the store, pickling; then the
whole worker task (``parse_pickled``) and the CSafeLoader floor's own per-file parse.

Each figure is CPU time (``process_time``), the best of ``--repeat`` passes, in microseconds
per file: other work on the machine moves it far less than wall time.

    python -m bench.worker_profile [--files 3000] [--corpus DIR] [--repeat 5]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pickle
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from bench.generate import generate
from bot.articles.fields import build_article
from bot.articles.parse import _front_matter, parse_article
from bot.articles.yaml_events import read_document
from bot.articles.yaml_fast import simple_yaml
from bot.ingest.walk import FoundFile
from bot.ingest.workers import parse_pickled, read_file
from bot.store import prepare_article

MAX_BYTES = 1 << 20
TASK = 500  # files per worker task, as the ingest sends them


def profile(root: Path, repeat: int) -> dict[str, float]:
    paths: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        paths.extend(os.path.join(dirpath, f) for f in sorted(filenames))
    n = len(paths)
    sizes = [os.path.getsize(p) for p in paths]
    datas = [read_file(p, s, MAX_BYTES + 1) for p, s in zip(paths, sizes, strict=True)]
    texts = [d.decode("utf-8") for d in datas]
    docs = [_front_matter(t)[0] for t in texts]
    scanned = [simple_yaml(d) for d in docs]
    roots = [r for r in scanned if isinstance(r, dict)]
    articles = [build_article(r).article for r in roots]
    found = [FoundFile(p, p, s, 0) for p, s in zip(paths, sizes, strict=True)]
    tasks = [found[i : i + TASK] for i in range(0, n, TASK)]
    chunks = [parse_pickled(t, MAX_BYTES) for t in tasks]

    def per_file(step: Callable[[], object]) -> float:
        best = float("inf")
        for _ in range(repeat):
            started = time.process_time()
            step()
            best = min(best, time.process_time() - started)
        return round(best / n * 1e6, 1)

    return {
        "files": n,
        "read_us": per_file(
            lambda: [read_file(p, s, MAX_BYTES + 1) for p, s in zip(paths, sizes, strict=True)]
        ),
        "hash_us": per_file(
            lambda: [hashlib.blake2b(d, digest_size=16).hexdigest() for d in datas]
        ),
        "decode_us": per_file(lambda: [d.decode("utf-8") for d in datas]),
        "front_matter_us": per_file(lambda: [_front_matter(t) for t in texts]),
        "line_scanner_us": per_file(lambda: [simple_yaml(d) for d in docs]),
        "declined_by_scanner": sum(r is None for r in scanned),
        "libyaml_events_us": per_file(lambda: [read_document(d, 2) for d in docs]),
        "field_rules_us": per_file(lambda: [build_article(r) for r in roots]),
        "prepare_rows_us": per_file(lambda: [prepare_article(a) for a in articles]),
        "parse_article_us": per_file(lambda: [parse_article(d) for d in datas]),
        "worker_task_us": per_file(lambda: [parse_pickled(t, MAX_BYTES) for t in tasks]),
        "pickled_bytes_per_file": round(sum(map(len, chunks)) / n),
        "unpickle_us": per_file(lambda: [pickle.loads(c) for c in chunks]),
        "floor_csafeloader_us": per_file(
            lambda: [yaml.load(d, Loader=yaml.CSafeLoader) for d in docs]
        ),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.worker_profile")
    ap.add_argument("--files", type=int, default=3000)
    ap.add_argument("--corpus", type=Path, help="a folder of article files (else generated)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    scratch = None
    corpus = args.corpus
    if corpus is None:
        scratch = Path(tempfile.mkdtemp(prefix="newsbot-worker-profile-"))
        corpus = scratch / "corpus"
        generate(corpus, args.files, seed=args.seed)
    try:
        print(json.dumps(profile(corpus, args.repeat)))
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
