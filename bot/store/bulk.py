"""Loading articles that come from no file (an import, a benchmark), in batches, through a
store's own batch write: one rule for every backend."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence

from bot.articles import Article
from bot.store.records import BatchCounts, FileRecord, PreparedArticle

ApplyBatch = Callable[[Sequence[FileRecord], float, Callable[[str], str]], Awaitable[BatchCounts]]


async def load_in_batches(
    apply_batch: ApplyBatch,
    articles: Iterable[Article | PreparedArticle],
    now: float,
    *,
    batch: int,
    canonical_topic: Callable[[str], str],
) -> BatchCounts:
    """``batch`` articles per call of ``apply_batch`` (one transaction each); Articles or
    prepare_article() tuples, written as records of no file."""
    total = BatchCounts()
    pending: list[FileRecord] = []
    for item in articles:
        if isinstance(item, Article):
            pending.append(FileRecord("", 0, 0, "", article=item))
        else:
            pending.append(FileRecord("", 0, 0, "", prepared=item))
        if len(pending) >= batch:
            total += await apply_batch(pending, now, canonical_topic)
            pending = []
    if pending:
        total += await apply_batch(pending, now, canonical_topic)
    return total
