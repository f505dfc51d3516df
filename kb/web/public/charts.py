"""The geometry of the pages' pictures, drawn as SVG by templates/charts.html: no JavaScript, the same figures in a table.

A record over time (how many promises stood in each status at each date: stacked bars), a
promise's timeline (its dated entries, its deadline, today) and each person's report card (their
promises' statuses as one bar, its parts the scorecard's shares). Numbers only here; what the pictures
say in words (title, description, table) is the template's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from kb.content.listing import Scorecard
from kb.content.model import Promise, Status

CHART_WIDTH, CHART_HEIGHT = 640, 200
AXIS = 24  # room under the bars for the dates
TOP = 18  # room above the highest bar for its total
FALLBACK = "#4b5563"


@dataclass
class Segment:
    status: str
    label: str
    color: str
    count: int
    y: float
    height: float


@dataclass
class Bar:
    day: date
    x: float
    width: float
    total: int
    segments: list[Segment] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        return {segment.status: segment.count for segment in self.segments}


@dataclass
class RecordChart:
    """Stacked bars, one per date: the height of each part is how many promises stood in that status."""

    bars: list[Bar]
    statuses: list[tuple[str, str, str]]  # (key, label, colour) of the statuses shown, in the vocabulary's order
    highest: int
    width: int = CHART_WIDTH
    height: int = CHART_HEIGHT
    axis: int = AXIS


def record_chart(series: list[tuple[date, dict[str, int]]], statuses: dict[str, Status]) -> RecordChart | None:
    """The chart of a record over time (kb.catalog.queries.record_over_time); None when nothing was ever counted."""
    highest = max((sum(counts.values()) for _, counts in series), default=0)
    if not highest:
        return None
    room = CHART_HEIGHT - AXIS - TOP
    slot = CHART_WIDTH / len(series)
    bars = []
    shown: dict[str, None] = {}
    for index, (day, counts) in enumerate(series):
        bar = Bar(day=day, x=round(index * slot + slot * 0.15, 1), width=round(slot * 0.7, 1), total=sum(counts.values()))
        top = float(TOP + room)
        for key, count in counts.items():
            height = room * count / highest
            top -= height
            status = statuses.get(key)
            bar.segments.append(Segment(key, status.shown() if status else key, status.color if status else FALLBACK, count, round(top, 1), round(height, 1)))
            shown[key] = None
        bars.append(bar)
    legend = [(key, statuses[key].shown() if key in statuses else key, statuses[key].color if key in statuses else FALLBACK) for key in statuses if key in shown]
    legend += [(key, key, FALLBACK) for key in shown if key not in statuses]
    return RecordChart(bars=bars, statuses=legend, highest=highest)


@dataclass
class Mark:
    x: float
    day: date
    status: str
    label: str
    color: str


@dataclass
class Timeline:
    """A promise's life on one line: from the day it was made to its deadline or today, whichever is later."""

    start: date
    end: date
    marks: list[Mark]
    today_x: float
    due_x: float | None
    years: list[tuple[float, int]]  # (x, year) of each 1 January on the line
    today_anchor: str = "middle"  # how the labels sit on their line (inward near an edge)
    due_anchor: str = "middle"
    width: int = CHART_WIDTH
    height: int = 90


def timeline(promise: Promise, statuses: dict[str, Status], today: date) -> Timeline:
    start = min([promise.made_on, *(entry.date for entry in promise.history if entry.date)])
    end = max([today, promise.due or today, *(entry.date for entry in promise.history if entry.date)])
    span = max((end - start).days, 1)
    left, right = 16, CHART_WIDTH - 16

    def x(day: date) -> float:
        return round(left + (right - left) * (day - start).days / span, 1)

    def anchor(position: float) -> str:  # a label near an edge is written inward, not cut off
        return "end" if position > CHART_WIDTH - 70 else "start" if position < 70 else "middle"

    marks = [
        Mark(x(entry.date), entry.date, entry.status, statuses[entry.status].shown() if entry.status in statuses else entry.status,
             statuses[entry.status].color if entry.status in statuses else FALLBACK)
        for entry in promise.history if entry.date
    ]  # fmt: skip
    years = [(x(date(year, 1, 1)), year) for year in range(start.year + 1, end.year + 1)]
    if len(years) > 12:  # a long line: every other year, or fewer
        step = -(-len(years) // 12)
        years = years[::step]
    due_x = x(promise.due) if promise.due else None
    return Timeline(
        start=start, end=end, marks=marks, today_x=x(today), due_x=due_x, years=years,
        today_anchor=anchor(x(today)), due_anchor=anchor(due_x) if due_x is not None else "middle",
    )  # fmt: skip


@dataclass(frozen=True)
class Part:
    """One status's part of a report card's bar: `x` and `share` in percent of the bar's width."""

    status: str
    label: str
    symbol: str
    color: str
    count: int
    x: int
    share: int


@dataclass(frozen=True)
class ReportCard:
    """One person's (or institution's) record: their scorecard, and its bar's parts in the vocabulary's order."""

    name: str
    slug: str
    card: Scorecard
    parts: list[Part]


def report_cards(groups: list[dict], statuses: dict[str, Status]) -> list[ReportCard]:
    """The report cards of kb.catalog.queries.groups' rows; each bar's parts fill exactly 100 %."""
    cards = []
    for row in groups:
        card: Scorecard = row["card"]
        shares = card.shares()
        parts, x = [], 0
        for key, count in card.counts.items():
            status = statuses.get(key)
            parts.append(Part(
                key, status.shown() if status else key, status.symbol if status else "", status.color if status else FALLBACK,
                count, x, shares[key],
            ))  # fmt: skip
            x += shares[key]
        cards.append(ReportCard(row["name"], row["slug"], card, parts))
    return cards
