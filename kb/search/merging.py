"""Which segments of the index a commit merges: segments of like size, never the big one for a few files.

Each publication and each round of the scanner commits a small segment. Whoosh's MERGE_SMALL
merges segments by a Fibonacci rule that, once some eighteen segments have piled up, merges them
all — the 11,000 documents of a 10,000-promise index included: 7.5 s inside a publication or a
scan, the index's writer held all along, every worker's catching up waiting. Here segments are
grouped in tiers by size (powers of TIER_FACTOR documents), and a tier is merged only when it
holds TIER_FACTOR segments: a document is merged again about once per tier (log of the index's
size). Whoosh merges at about 8 ms a document, as long as indexing it anew: a commit of a few
files merges only the small tiers itself; the larger ones are merged by the machine's scanner
between its rounds (SearchIndex.merge_when_due), whose holding the index's writer for seconds
makes a publication meanwhile indexed by the next catching up.

The segments a full build wrote (kb.search.building marks them) are never merged again: they are
most of the index, and merging four of them would hold the index's writer for minutes. The
documents they lose to publications (a republished promise is deleted from its old segment) are
purged by the next `kb index`.
"""

from __future__ import annotations

import math

from whoosh.reading import SegmentReader

TIER_FACTOR = 4
# The tiers a commit of a few files merges itself (segments under TIER_FACTOR ** (SMALL_TIERS + 1)
# documents: a quarter of a second to a second of merging at most); larger ones wait for a round of
# the machine's scanner (merge_when_due), outside any request.
SMALL_TIERS = 2


def tier(documents: int) -> int:
    """A segment's tier: 0 for up to TIER_FACTOR - 1 documents, 1 up to TIER_FACTOR² - 1, and so on."""
    return int(math.log(max(documents, 1), TIER_FACTOR))


def to_merge(sizes: list[int | None], up_to: int | None = None) -> set[int]:
    """The positions, among segments of these sizes (in documents; None: a build's segment, never
    merged), of those to merge: every full tier (up to tier `up_to`)."""
    tiers: dict[int, list[int]] = {}
    for position, documents in enumerate(sizes):
        if documents is not None:
            tiers.setdefault(tier(documents), []).append(position)
    return {
        position
        for level, members in tiers.items()
        if len(members) >= TIER_FACTOR and (up_to is None or level <= up_to)
        for position in members
    }


def sizes(segments: list) -> list[int | None]:
    """The segments' sizes for to_merge: their documents, None for a build's."""
    return [None if getattr(segment, "kb_built", False) else segment.doc_count_all() for segment in segments]


def merge_by_tiers(writer, segments: list, up_to: int | None = None) -> list:
    """A Whoosh merge policy: merge the segments of every full tier (up to `up_to`) into the new
    segment; the others stay."""
    merged = to_merge(sizes(segments), up_to)
    for position in sorted(merged):
        reader = SegmentReader(writer.storage, writer.schema, segments[position])
        writer.add_reader(reader)
        reader.close()
    return [segment for position, segment in enumerate(segments) if position not in merged]


def merge_small_tiers(writer, segments: list) -> list:
    """The policy of a commit of a few files: only the small tiers."""
    return merge_by_tiers(writer, segments, SMALL_TIERS)
