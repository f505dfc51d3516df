"""A deterministic synthetic content tree, as large as wanted, for benchmarks.

The words come from the demo corpus itself, drawn in proportion to how often they occur
there, so the text has the demo's French: accents, œ, elisions (l', d'), hyphenated
communes, numbers like "15 000", OCR slips, and a Zipf-like frequency curve. Every quote is
cut from the text of a generated source, so `kb check` passes on the result.

Same seed, same arguments ⇒ byte-identical files: one random.Random drives everything, in a
fixed order, and nothing depends on set or directory iteration order.
"""

from __future__ import annotations

import bisect
import os
import re
import shutil
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from datetime import date, timedelta
from pathlib import Path
from random import Random
from typing import Callable, Iterable

from kb.config.paths import PACKAGE
from kb.content import frontmatter
from kb.content.listing import slug
from kb.content.model import Evidence, HistoryEntry, Person, Promise
from kb.content.people import split_names
from kb.content.people import to_text as people_text
from kb.content.promises import to_text as promise_to_text
from kb.content.sources import DOCUMENT_TYPES
from kb.content.statuses import FILE_NAME
from kb.content.tree import ContentTree, read_tree

DEMO_CONTENT = PACKAGE.parent / "content"

# A number with thousands groups ("15 000") is one word; otherwise a word is a run of
# letters/digits joined by apostrophes or hyphens ("l'habitat", "Marcq-en-Barœul").
WORD = re.compile(r"(?<!\w)\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?!\w)|\w+(?:['’\-]\w+)*")
URL = re.compile(r"https?://\S+")
# Dates of everything generated stay in the past of any machine that runs the benchmark.
LAST_DATE = date(2026, 11, 1)

COMMUNES = (
    "Lille", "Roubaix", "Tourcoing", "Villeneuve d'Ascq", "Marcq-en-Barœul", "La Madeleine",
    "Wattrelos", "Lambersart", "Lomme", "Hellemmes", "Croix", "Wasquehal", "Mons-en-Barœul",
    "Loos", "Armentières", "Ronchin", "Faches-Thumesnil", "Hem", "Haubourdin", "Seclin",
    "Saint-André-lez-Lille", "Wambrechies", "Halluin", "Comines", "Mouvaux", "Bondues",
    "Marquette-lez-Lille", "Lys-lez-Lannoy", "Wattignies", "Lesquin",
)  # fmt: skip
TERRITORIES = COMMUNES + ("Marcq-en-Barœul et La Madeleine", "Métropole européenne de Lille")

PARTIES = (
    "Parti socialiste (PS)", "Les Républicains (LR)", "Europe Écologie Les Verts (EELV)",
    "Renaissance", "La France insoumise (LFI)", "Divers gauche", "Divers droite", "Sans étiquette",
)  # fmt: skip
# Invented people (any likeness is chance), plus the demo's authors and institutions.
PEOPLE = (
    "Claire Delannoy", "Jean-Marc Vanhoutte", "Hélène Carpentier", "François Delattre",
    "Nathalie Vandenberghe", "Benoît Lemaire", "Sophie Dewaele", "Thierry Leclercq",
    "Véronique Desmet", "Olivier Duhamel", "Isabelle Delcroix", "Grégory Dumortier",
    "Céline Lecomte", "Patrick Coppens", "Aurélie Debruyne", "Stéphane Vandamme",
    "Chloé Hennebelle", "Jérôme Verbeke", "Anne-Sophie Lefebvre", "Frédéric Deschamps",
    "Maëlle Boulanger", "Luc Desrousseaux", "Émilie Wallart", "Noël Dufossé",
    "Agnès Lemaître", "Rémi Flahaut", "Marion Degrave", "Yannick Delerue",
)  # fmt: skip
DEMO_MADE_BY = ("Martine Aubry", "Bernard Gérard et Sébastien Leprêtre")
INSTITUTIONS = (
    "Métropole européenne de Lille", "Lille Métropole", "Ville de Lille", "Ville de Roubaix",
    "Ville de Tourcoing", "Ville de Villeneuve d'Ascq", "Conseil municipal de Lomme",
    "Mairie de Marcq-en-Barœul", "Ville de Wattrelos", "Ville de Lambersart",
)  # fmt: skip
MADE_BY = PEOPLE + DEMO_MADE_BY + INSTITUTIONS

PUBLISHERS = (
    "Lille Métropole", "Ville de Marcq-en-Barœul", "Mediacités", "Métropole Européenne de Lille",
    "Ville de Villeneuve d'Ascq", "Ville de Roubaix", "Ville de Tourcoing", "Ville de Lille",
    "Ville de Wattrelos", "Ville de Lambersart", "Ville de Croix",
)  # fmt: skip
SOURCE_TITLES = {
    "deliberation": "Délibération",
    "press-release": "Communiqué",
    "article": "Article",
    "report": "Rapport",
    "slides": "Présentation",
    "other": "Document",
}
# Promise titles start with an action verb, as the content format asks.
VERBS = (
    "Approfondir", "Acheter", "Créer", "Développer", "Mettre en place", "Renforcer", "Mutualiser",
    "Lancer", "Réduire", "Sécuriser", "Étendre", "Généraliser", "Rénover", "Soutenir", "Adopter",
)  # fmt: skip


class Vocabulary:
    """The demo corpus's words with their counts, ready for weighted drawing."""

    def __init__(self, counts: Counter):
        self.words = sorted(counts)  # sorted: Counter order depends on reading order
        total = 0
        self.cumulative = []
        for word in self.words:
            total += counts[word]
            self.cumulative.append(total)

    def draw(self, rng: Random, k: int) -> list[str]:
        return rng.choices(self.words, cum_weights=self.cumulative, k=k)


def words_of(text: str) -> list[str]:
    """The words of a text, as the vocabulary counts them (URLs and Markdown left out)."""
    return WORD.findall(URL.sub(" ", text))


def demo_vocabulary(demo: Path = DEMO_CONTENT) -> Vocabulary:
    """Count every word of the demo corpus: titles, analyses, notes and source texts."""
    return vocabulary_of(read_tree(demo))


def vocabulary_of(tree: ContentTree) -> Vocabulary:
    """Count every word of a content tree: titles, analyses, notes, replies and source texts."""
    counts: Counter = Counter()
    for promise in tree.promises.values():
        texts = [promise.title, promise.body, promise.reply or ""]
        texts += [entry.note or "" for entry in promise.history]
        for text in texts:
            counts.update(words_of(text))
    for source in tree.sources.values():
        counts.update(words_of(source.title))
        counts.update(words_of(source.text))
    return Vocabulary(counts)


class _Writer:
    """Sentences and paragraphs from the vocabulary, with one random generator."""

    def __init__(self, vocabulary: Vocabulary, rng: Random):
        self.vocabulary = vocabulary
        self.rng = rng
        self.pending: list[str] = []
        self.position = 0

    def words(self, count: int) -> list[str]:
        # Drawing in bulk is what makes 40 MB of text take seconds, not minutes.
        if self.position + count > len(self.pending):
            self.pending = self.pending[self.position :] + self.vocabulary.draw(self.rng, 8192)
            self.position = 0
        taken = self.pending[self.position : self.position + count]
        self.position += count
        return taken

    def sentence_words(self, low: int = 8, high: int = 25) -> list[str]:
        """A sentence as its words, punctuation attached: joined by spaces, it is the text."""
        rng = self.rng
        words = self.words(rng.randint(low, high))
        words[0] = words[0][:1].upper() + words[0][1:]
        if len(words) >= 12 and rng.random() < 0.6:
            words[rng.randrange(3, len(words) - 4)] += rng.choice((",", ",", ",", " ;", " :"))
        words[-1] += rng.choice((".", ".", ".", ".", ".", " ?", " !"))
        return words

    def sentence(self, low: int = 8, high: int = 25) -> str:
        return " ".join(self.sentence_words(low, high))

    def title(self, low: int, high: int) -> str:
        return " ".join(self.words(self.rng.randint(low, high)))


def _date_between(rng: Random, first: date, last: date) -> date:
    return first + timedelta(days=rng.randint(0, (last - first).days))


def _source_text(writer: _Writer, target_bytes: int) -> tuple[str, list[list[str]]]:
    """About `target_bytes` of UTF-8 text in paragraphs; also its sentences' words, for quoting."""
    sentences: list[list[str]] = []
    paragraphs: list[str] = []
    size = 0
    while size < target_bytes:
        words = [writer.sentence_words() for _ in range(writer.rng.randint(2, 7))]
        sentences.extend(words)
        text = " ".join(" ".join(sentence) for sentence in words)
        paragraphs.append(text)
        size += len(text.encode("utf-8")) + 2
    return "\n\n".join(paragraphs), sentences


def _quote(rng: Random, sentences: list[list[str]]) -> str:
    """5 to 15 consecutive words of one sentence: an exact substring of the source."""
    words = rng.choice(sentences)
    length = rng.randint(5, min(15, len(words)))
    start = rng.randint(0, len(words) - length)
    return " ".join(words[start : start + length]).rstrip(" ,;:.?!")


def _write_sources(root: Path, writer: _Writer, count: int, target_bytes: int, progress) -> tuple[list, list]:
    """Write the sources; return their dates and (date, id, sentences), sorted by date, for quoting."""
    rng = writer.rng
    quotable = []
    numbers = range(1, count + 1)
    for number in progress(numbers) if progress else numbers:
        source_id = f"source-{number:05d}"
        document_type = DOCUMENT_TYPES[(number - 1) % len(DOCUMENT_TYPES)]
        published = _date_between(rng, date(2012, 1, 1), LAST_DATE)
        data = {
            "title": f"{SOURCE_TITLES[document_type]} : {writer.title(4, 14)}",
            "publisher": rng.choice(PUBLISHERS),
            "kind": document_type,
            "date": published,
        }
        if document_type == "deliberation":
            data["reference"] = f"059-{published:%Y%m%d}-DE-{number}"
        text, sentences = _source_text(writer, target_bytes)
        _write(root / "sources" / f"{source_id}.md", frontmatter.dump(data, text))
        quotable.append((published, source_id, sentences))
    quotable.sort(key=lambda item: (item[0], item[1]))
    return [item[0] for item in quotable], quotable


def _history(writer: _Writer, made_on: date, statuses: list[str], sources: tuple[list, list]) -> list[HistoryEntry]:
    rng = writer.rng
    source_dates, quotable = sources
    dates = sorted(_date_between(rng, made_on, LAST_DATE) for _ in range(rng.randint(1, 4)))
    if rng.random() < 0.7:
        dates[0] = made_on  # most promises are recorded on the day they are made
    history = []
    for index, when in enumerate(dates):
        status = "planned" if index == 0 and "planned" in statuses and rng.random() < 0.7 else rng.choice(statuses)
        # Quote documents already published on the entry's date, when there are any.
        published = bisect.bisect_right(source_dates, when)
        evidence = []
        for _ in range(rng.randint(1, 2)):
            _, source_id, sentences = quotable[rng.randrange(published)] if published else rng.choice(quotable)
            evidence.append(Evidence(source_id, _quote(rng, sentences)))
        history.append(HistoryEntry(when, status, writer.sentence(), evidence))
    return history


def _body(writer: _Writer) -> str:
    """80 to 250 words of Markdown, in paragraphs, with an occasional bold phrase."""
    rng = writer.rng
    target = rng.randint(80, 250)
    paragraphs, paragraph, count = [], [], 0
    while count < target:
        sentence = writer.sentence(8, min(25, max(8, target - count)))
        if rng.random() < 0.15:
            first, _, rest = sentence.partition(" ")
            sentence = f"**{first}** {rest}"
        paragraph.append(sentence)
        count += sentence.count(" ") + 1
        if len(paragraph) >= rng.randint(2, 5):
            paragraphs.append(" ".join(paragraph))
            paragraph = []
    if paragraph:
        paragraphs.append(" ".join(paragraph))
    return "\n\n".join(paragraphs)


# Municipal terms (second rounds of the elections): each territory has one tracker per term.
TERMS = ((date(2014, 3, 30), date(2020, 6, 28)), (date(2020, 6, 28), date(2026, 3, 22)))


def tracker_id(territory: str, made_on: date) -> str:
    """The tracker of a territory's term in which a promise was made."""
    start, end = next(term for term in TERMS if made_on < term[1]) if made_on < TERMS[-1][1] else TERMS[-1]
    return f"{slug(territory)}-{start.year}-{end.year}"


# Each author's file: the demo's joint promise names two people, as the demo does.
AUTHOR_IDS = {name: slug(name) for written in MADE_BY for name in split_names(written)}


def _write_people(root: Path) -> None:
    (root / "people").mkdir()
    for name, person_id in AUTHOR_IDS.items():
        kind = "person" if name in PEOPLE or name in ("Martine Aubry", "Bernard Gérard", "Sébastien Leprêtre") else "institution"
        _write(root / "people" / f"{person_id}.md", people_text(Person(id=person_id, name=name, kind=kind)))


def _write_trackers(root: Path) -> None:
    (root / "trackers").mkdir()
    for territory in TERRITORIES:
        for start, end in TERMS:
            text = frontmatter.dump(
                {"title": f"{territory}, mandat {start.year}-{end.year}", "territory": territory, "office": f"Conseil de {territory}",
                 "term_start": start, "term_end": end, "closed": True},
                f"Les engagements du mandat {start.year}-{end.year}.",
            )  # fmt: skip
            _write(root / "trackers" / f"{slug(territory)}-{start.year}-{end.year}.md", text)


def _promise(number: int, writer: _Writer, themes: list[str], statuses: list[str], sources: tuple) -> Promise:
    rng = writer.rng
    made_by = rng.choice(MADE_BY)
    made_on = _date_between(rng, date(2014, 1, 1), date(2024, 12, 31))
    due = made_on + timedelta(days=rng.randint(180, 6 * 365)) if rng.random() < 0.5 else None
    history = _history(writer, made_on, statuses, sources)
    title = f"{rng.choice(VERBS)} {writer.title(3, 10)}"
    territory = rng.choice(TERRITORIES)  # drawn after the title, as always: the same seed gives the same corpus
    return Promise(
        id=f"promesse-{number:05d}",
        title=title,
        tracker=tracker_id(territory, made_on),
        made_by=[AUTHOR_IDS[name] for name in split_names(made_by)],
        territory=territory,
        theme=rng.choice(themes),
        made_on=made_on,
        status=history[-1].status,
        history=history,
        party=PARTIES[MADE_BY.index(made_by) % len(PARTIES)] if made_by in PEOPLE else None,
        due=due,
        body=_body(writer),
    )


def _write(path: Path, text: str) -> None:
    # Plain writes: a scratch benchmark tree needs no fsync per file (atomic_write does one).
    path.write_text(text, encoding="utf-8", newline="\n")


def _write_promises(folder: Path, batch: list[Promise]) -> None:
    for promise in batch:
        _write(folder / f"{promise.id}.md", promise_to_text(promise))


def write_corpus(
    root: Path,
    promises: int = 10_000,
    sources: int = 1_000,
    source_bytes: int = 40_000,
    seed: int = 1,
    progress: Callable[[Iterable], Iterable] | None = None,
    demo: Path = DEMO_CONTENT,
    workers: int | None = None,
) -> dict:
    """Write a valid synthetic content tree into `root` (absent or empty); return its counts."""
    root = Path(root)
    if root.exists() and any(root.iterdir()):
        raise FileExistsError(f"{root} n'est pas vide : le corpus synthétique s'écrit dans un dossier neuf")
    if sources < 1:
        raise ValueError("il faut au moins une source : chaque preuve cite une source")
    tree = read_tree(demo)
    themes = sorted({promise.theme for promise in tree.promises.values()})
    statuses = list(tree.statuses)
    writer = _Writer(vocabulary_of(tree), Random(seed))
    (root / "promises").mkdir(parents=True)
    (root / "sources").mkdir()
    shutil.copyfile(demo / FILE_NAME, root / FILE_NAME)
    _write_trackers(root)
    _write_people(root)
    library = _write_sources(root, writer, sources, source_bytes, progress)  # promises quote them
    # PyYAML's pure-Python emitter (kb's stable layout needs it) is most of the run time, so
    # promises are drawn here, in order, and serialised by other processes: same bytes, sooner.
    if workers is None:
        workers = (os.cpu_count() or 1) if promises >= 1000 else 1
    numbers = range(1, promises + 1)
    entries = quotes = 0
    batch: list[Promise] = []
    with ProcessPoolExecutor(workers) if workers > 1 else _Inline() as pool:
        jobs = []
        for number in progress(numbers) if progress else numbers:
            promise = _promise(number, writer, themes, statuses, library)
            entries += len(promise.history)
            quotes += sum(len(entry.evidence) for entry in promise.history)
            batch.append(promise)
            if len(batch) == 200 or number == promises:
                jobs.append(pool.submit(_write_promises, root / "promises", batch))
                batch = []
        for job in jobs:
            job.result()  # re-raises a worker's error here
    return {"promises": promises, "sources": sources, "history_entries": entries, "quotes": quotes}


class _Inline:
    """The executor interface, run in this process (small corpora, tests, one CPU)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False

    def submit(self, function, *args):
        function(*args)
        return self

    def result(self):
        return None
