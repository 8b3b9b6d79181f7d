"""``newsflow bench extract``: newsflow beside trafilatura on every development corpus.

Both extractors run on the same decoded pages, in turn page by page, and every figure is
shown for the tuning part and the validation part of each corpus apart (:mod:`bench.corpora`):
a rule that helps on tuning pages only is overfitted.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench import evaluation
from bench.corpora import CORPORA, PARTS, CorpusPage, load_corpus


@dataclass(frozen=True)
class Prediction:
    """What one extractor made of one page, in the fields the corpora score."""

    body: str = ""
    title: str | None = None
    authors: tuple[str, ...] = ()
    published: datetime | date | None = None
    milliseconds: float = 0.0
    error: str | None = None


def newsflow(page: CorpusPage) -> Prediction:
    """The clean and extract stages exactly as the pipeline runs them."""
    from pipeline.clean.html import clean
    from pipeline.extract.article import extract

    article = extract(clean(page.html, "html", url=page.url or None))
    moment = article.published_at
    published: datetime | date | None = moment
    if moment is not None and article.published_precision == "day":
        published = moment.date()  # 00:00 UTC stands for the day, not for a moment
    elif moment is not None and article.published_precision == "local-time":
        published = moment.replace(tzinfo=None)  # its offset is a placeholder
    return Prediction(article.body, article.title, article.authors, published)


def trafilatura(page: CorpusPage) -> Prediction:
    """trafilatura alone, with its metadata: one call for every field newsflow gives."""
    import trafilatura as library

    document = library.bare_extraction(page.html, url=page.url or None, with_metadata=True)
    if document is None or isinstance(document, dict):  # dict: only with as_dict=True
        return Prediction()
    day = None
    if document.date:
        try:
            day = date.fromisoformat(document.date[:10])
        except ValueError:
            day = None
    authors = tuple(name.strip() for name in (document.author or "").split(";") if name.strip())
    return Prediction(document.text or "", document.title, authors, day)


EXTRACTORS: dict[str, Callable[[CorpusPage], Prediction]] = {
    "newsflow": newsflow,
    "trafilatura": trafilatura,
}
Predictions = dict[str, dict[str, Prediction]]  # extractor -> page key -> prediction


def predict(pages: list[CorpusPage], *, jobs: int = 1) -> Predictions:
    """Every extractor on every page, timed, in turn page by page.

    Taking the extractors in turn page by page, after a warm-up call each (models and caches
    load there), keeps a slower moment of the machine from falling on one of them.
    """
    if jobs > 1 and len(pages) > jobs:
        chunks = [pages[index::jobs] for index in range(jobs)]
        merged: Predictions = {name: {} for name in EXTRACTORS}
        with ProcessPoolExecutor(jobs) as pool:
            for part in pool.map(_predict, chunks):
                for name, found in part.items():
                    merged[name].update(found)
        return merged
    return _predict(pages)


def _predict(pages: list[CorpusPage]) -> Predictions:
    if pages:
        for extractor in EXTRACTORS.values():
            _timed(extractor, pages[0])
    found: Predictions = {name: {} for name in EXTRACTORS}
    for page in pages:
        for name, extractor in EXTRACTORS.items():
            found[name][page.key] = _timed(extractor, page)
    return found


def _timed(extractor: Callable[[CorpusPage], Prediction], page: CorpusPage) -> Prediction:
    started = time.perf_counter()
    try:
        prediction = extractor(page)
    except Exception as error:  # a page that breaks an extractor scores as nothing found
        prediction = Prediction(error=f"{type(error).__name__}: {error}")
    elapsed = (time.perf_counter() - started) * 1000
    return replace(prediction, milliseconds=elapsed)


# -- scoring --------------------------------------------------------------------------------


def kind_of(pages: list[CorpusPage]) -> str:
    """Which of the four kinds of truth a corpus holds, from its rows."""
    truth = pages[0].truth if pages else {}
    if "articleBody" in truth:
        return "body"
    if "with" in truth:
        return "snippets"
    if "collection" in truth:
        return "dates"
    return "metadata"


def scores(kind: str, pages: list[CorpusPage], found: dict[str, Prediction]) -> dict[str, float]:
    """The corpus's figures for one extractor over ``pages``."""
    if kind == "body":
        report = evaluation.Report(
            "",
            [
                evaluation.PageScore(
                    page.key, *evaluation.match(page.truth["articleBody"], found[page.key].body)
                )
                for page in pages
            ],
        )
        return {"F1": report.f1, "precision": report.precision, "recall": report.recall}
    if kind == "snippets":
        counts = evaluation.total(
            evaluation.snippet_counts(
                found[page.key].body, page.truth.get("with", []), page.truth.get("without", [])
            )
            for page in pages
            if not page.doubtful
        )
        return {"F1": counts.f1, "precision": counts.precision, "recall": counts.recall}
    if kind == "dates":
        checks = [
            evaluation.same_day(found[page.key].published, page.truth["published"])
            for page in pages
            if page.truth.get("published") and not page.doubtful
        ]
        return {"dates": _share(checks)}
    titles = [
        evaluation.plain(found[page.key].title) == evaluation.plain(page.truth["title"])
        for page in pages
        if page.truth.get("title")
    ]
    dates = [
        evaluation.same_moment(found[page.key].published, page.truth["published"])
        for page in pages
        if page.truth.get("published")
    ]
    authors = evaluation.total(
        evaluation.author_counts(
            found[page.key].authors, evaluation.split_names(page.truth["authors"])
        )
        for page in pages
        # Some sources' author lists are known to be wrong (the corpus README names them).
        if page.truth.get("authors") is not None and not page.doubtful
    )
    return {"titles": _share(titles), "dates": _share(dates), "author F1": authors.f1}


def _share(checks: list[bool]) -> float:
    return sum(checks) / len(checks) if checks else 0.0


def median_ms(found: Iterable[Prediction]) -> float:
    times = [prediction.milliseconds for prediction in found]
    return statistics.median(times) if times else 0.0


# -- the report ------------------------------------------------------------------------------


def corpus_folders(root: Path, names: list[str] | None) -> list[Path]:
    """The corpus folders to run: ``root`` itself when it is one, else its named children."""
    if (root / "ground-truth.json").is_file() or (root / "manifest.jsonl").is_file():
        return [root]
    wanted = names or list(CORPORA)
    unknown = [name for name in wanted if not (root / name).is_dir()]
    if unknown:
        raise FileNotFoundError(f"no corpus {', '.join(unknown)} in {root}")
    return [root / name for name in wanted]


def report(
    console: Console,
    folders: list[Path],
    *,
    parts: tuple[str, ...] = PARTS,
    jobs: int = 1,
    worst: int = 0,
) -> dict[str, Predictions]:
    """Run and print every corpus in ``folders``; returns the predictions by corpus."""
    everything: dict[str, Predictions] = {}
    times: dict[str, list[Prediction]] = {name: [] for name in EXTRACTORS}
    for folder in folders:
        pages = [page for page in load_corpus(folder) if page.part in parts]
        kind = kind_of(pages)
        started = time.perf_counter()
        found = predict(pages, jobs=jobs)
        elapsed = time.perf_counter() - started
        everything[folder.name] = found
        for name in EXTRACTORS:
            times[name].extend(found[name].values())
        console.print(_table(folder.name, kind, pages, found, parts, elapsed))
        errors = sum(1 for p in found["newsflow"].values() if p.error)
        if errors:
            console.print(f"  newsflow raised on {errors} page(s)")
        if worst:
            _print_worst(console, kind, [p for p in pages if p.part == "tuning"], found, worst)
    ours, theirs = median_ms(times["newsflow"]), median_ms(times["trafilatura"])
    if ours and theirs:
        console.print(
            f"time per page over all {len(times['newsflow'])} pages, median: newsflow "
            f"{ours:.1f} ms, trafilatura {theirs:.1f} ms, {ours / theirs:.2f}x "
            "(newsflow: clean + extract, every field; trafilatura: bare_extraction with "
            "metadata)"
        )
    return everything


def _table(
    name: str,
    kind: str,
    pages: list[CorpusPage],
    found: Predictions,
    parts: tuple[str, ...],
    elapsed: float,
) -> Table:
    table = Table(title=f"{name} ({kind}), {len(pages)} pages, {elapsed:.0f} s")
    rows: list[tuple[str, str, int, dict[str, float], float]] = []
    for extractor in EXTRACTORS:
        for part in parts:
            subset = [page for page in pages if page.part == part]
            figures = scores(kind, subset, found[extractor])
            milliseconds = median_ms(found[extractor][page.key] for page in subset)
            rows.append((extractor, part, len(subset), figures, milliseconds))
    metrics = list(rows[0][3]) if rows else []
    for column in ("extractor", "part", "pages", *metrics, "median ms"):
        table.add_column(column, justify="left" if column in {"extractor", "part"} else "right")
    for extractor, part, count, figures, milliseconds in rows:
        table.add_row(
            extractor,
            part,
            str(count),
            *(f"{figures[metric]:.4f}" for metric in metrics),
            f"{milliseconds:.1f}",
        )
    if set(parts) == set(PARTS):
        ours = {part: figures for extractor, part, _, figures, _ in rows if extractor == "newsflow"}
        gap = [ours["tuning"][metric] - ours["validation"][metric] for metric in metrics]
        table.add_row("newsflow", "tuning − validation", "", *(f"{g:+.4f}" for g in gap), "")
    return table


def _metadata_misses(page: CorpusPage, prediction: Prediction) -> list[str]:
    """What a metadata page got wrong, field by field, as its score counts it."""
    truth, misses = page.truth, []
    if truth.get("title") and evaluation.plain(prediction.title) != evaluation.plain(
        truth["title"]
    ):
        misses.append(f"title {prediction.title!r}, not {truth['title']!r}")
    if truth.get("published") and not evaluation.same_moment(
        prediction.published, truth["published"]
    ):
        misses.append(f"date {prediction.published}, not {truth['published']}")
    if truth.get("authors") is not None and not page.doubtful:
        counts = evaluation.author_counts(
            prediction.authors, evaluation.split_names(truth["authors"])
        )
        if counts.false_positive or counts.false_negative:
            misses.append(f"authors {list(prediction.authors)}, not {truth['authors']}")
    return misses


def _print_worst(
    console: Console, kind: str, pages: list[CorpusPage], found: Predictions, count: int
) -> None:
    """The tuning pages newsflow does worst on: where to look next (never validation pages)."""
    ours = found["newsflow"]
    table = Table(title=f"newsflow's {count} worst tuning pages")
    for column in ("key", "score", "what"):
        table.add_column(column, overflow="fold")
    ranked: list[tuple[float, str, str]] = []
    for page in pages:
        prediction = ours[page.key]
        if kind == "body":
            scored = evaluation.PageScore(
                page.key, *evaluation.match(page.truth["articleBody"], prediction.body)
            )
            what = f"P {scored.precision or 0:.2f} R {scored.recall or 0:.2f} {page.url}"
            ranked.append((scored.f1, page.key, what))
        elif kind == "snippets":
            counts = evaluation.snippet_counts(
                prediction.body, page.truth.get("with", []), page.truth.get("without", [])
            )
            bad = counts.false_positive + counts.false_negative
            what = f"missed {counts.false_negative}, leaked {counts.false_positive}"
            ranked.append((-bad, page.key, what))
        elif kind == "dates":
            expected = page.truth.get("published")
            if expected and not evaluation.same_day(prediction.published, expected):
                ranked.append((0.0, page.key, f"found {prediction.published}, not {expected}"))
        else:
            ranked.extend((0.0, page.key, what) for what in _metadata_misses(page, prediction))
    for score, key, what in sorted(ranked)[:count]:
        table.add_row(key[:40], f"{score:.3f}", what)
    console.print(table)


# -- what a run leaves behind ------------------------------------------------------------------


def write_bodies(found: dict[str, Predictions], path: Path) -> None:
    """newsflow's bodies as ``{key: {"articleBody": ...}}``, the shape the body corpus's own
    scorer reads, so a run can be scored by it too."""
    bodies = {
        key: {"articleBody": prediction.body}
        for predictions in found.values()
        for key, prediction in predictions["newsflow"].items()
    }
    path.write_text(json.dumps(bodies, ensure_ascii=False, indent=1), encoding="utf-8")


def append_record(path: Path, command: str, text: str) -> None:
    """Append a run's output, dated and with the command that made it, to a Markdown file:
    figures are only comparable with the command and the day beside them."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d")
    with path.open("a", encoding="utf-8") as file:
        file.write(f"\n## {stamp}: `{command}`\n\n```\n{text.rstrip()}\n```\n")
