"""Which segments of the index a commit merges: segments of like size, never the big one for a few files.

Each publication and each round of the scanner commits a small segment. Whoosh's MERGE_SMALL
merges segments by a Fibonacci rule that, once some eighteen segments have piled up, merges them
all — the 11,000 documents of a 10,000-promise index included: 7.5 s inside a publication or a
scan, the index's writer held all along, every worker's catching up waiting. Here segments are
grouped in tiers by size (powers of TIER_FACTOR documents), and a tier is merged only when it
holds TIER_FACTOR segments: a document is merged again about once per tier (log of the index's
size), and the big segment only when three others as big have formed beside it (its deleted
documents are purged then, or by `kb index`). Whoosh merges at about 8 ms a document, as long as
indexing it anew: a commit of a few files merges only the small tiers itself; the larger ones are
merged by the machine's scanner between its rounds (SearchIndex.merge_when_due), whose holding the
index's writer for seconds makes a publication meanwhile indexed by the next catching up.

Segments of LARGEST_TIER_MERGED + 1 and above (4,096 documents and more) are never merged again:
a full build writes its segments that large (kb.search.building), and merging four of them would
hold the index's writer for minutes. The documents they lose to publications (a republished
promise is deleted from its old segment) are purged by the next `kb index`.
"""

from __future__ import annotations

import math

from whoosh.reading import SegmentReader

TIER_FACTOR = 4
# The tiers a commit of a few files merges itself (segments under TIER_FACTOR ** (SMALL_TIERS + 1)
# documents: a quarter of a second to a second of merging at most); larger ones wait for a round of
# the machine's scanner (merge_when_due), outside any request.
SMALL_TIERS = 2
# The largest tier merged at all: segments under TIER_FACTOR ** (LARGEST_TIER_MERGED + 1) documents.
LARGEST_TIER_MERGED = 5


def tier(documents: int) -> int:
    """A segment's tier: 0 for up to TIER_FACTOR - 1 documents, 1 up to TIER_FACTOR² - 1, and so on."""
    return int(math.log(max(documents, 1), TIER_FACTOR))


def to_merge(sizes: list[int], up_to: int = LARGEST_TIER_MERGED) -> set[int]:
    """The positions, among segments of these sizes (in documents), of those to merge: every full tier
    up to tier `up_to`."""
    tiers: dict[int, list[int]] = {}
    for position, documents in enumerate(sizes):
        tiers.setdefault(tier(documents), []).append(position)
    return {
        position
        for level, members in tiers.items()
        if len(members) >= TIER_FACTOR and level <= up_to
        for position in members
    }


def merge_by_tiers(writer, segments: list, up_to: int = LARGEST_TIER_MERGED) -> list:
    """A Whoosh merge policy: merge the segments of every full tier up to `up_to` into the new
    segment; the others stay."""
    merged = to_merge([segment.doc_count_all() for segment in segments], up_to)
    for position in sorted(merged):
        reader = SegmentReader(writer.storage, writer.schema, segments[position])
        writer.add_reader(reader)
        reader.close()
    return [segment for position, segment in enumerate(segments) if position not in merged]


def merge_small_tiers(writer, segments: list) -> list:
    """The policy of a commit of a few files: only the small tiers."""
    return merge_by_tiers(writer, segments, SMALL_TIERS)
