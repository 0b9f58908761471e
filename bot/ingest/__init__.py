"""Article files into the store: walk the folders (``walk``, kept current by ``watch``), parse
changed files in worker processes (``workers``), write them in batches (``ingestor``)."""

from bot.ingest.ingestor import POOL_THRESHOLD, Ingestor, IngestReport
from bot.ingest.walk import walk

__all__ = ["POOL_THRESHOLD", "IngestReport", "Ingestor", "walk"]
