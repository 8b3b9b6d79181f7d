"""Pages of each development corpus classified as interstitials, tuning and validation apart,
and what the check costs per page. Run from the repository root::

    python -m bench.walls [--corpus DIR]

Every page is cleaned as the clean stage does, then given to
:func:`pipeline.clean.interstitials.classify`, which alone is timed. None of these pages is
an interstitial: any page counted is a false alarm, and is named.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

from bench.corpora import add_corpus_argument, load_corpus
from pipeline.clean.html import clean
from pipeline.clean.interstitials import classify
from pipeline.errors import NewsflowError
from pipeline.models import CleanedDocument

CORPORA = ("article-body-dev", "snippets-dev", "metadata-dev")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.walls", description=__doc__)
    add_corpus_argument(parser)
    args = parser.parse_args(argv)
    for name in CORPORA:
        pages: Counter[str] = Counter()
        walls: Counter[str] = Counter()
        spent: list[float] = []
        for page in load_corpus(args.corpus / name):
            try:
                document = clean(page.html, "html", url=page.url or None)
            except NewsflowError:  # nothing left to clean: the check still looks at the page
                document = CleanedDocument(kind="html", url=page.url or None)
            began = time.perf_counter()
            verdict = classify(page.html, "html", document)
            spent.append(time.perf_counter() - began)
            pages[page.part] += 1
            if verdict is not None:
                walls[page.part] += 1
                print(f"  {name} {page.key}: {verdict.kind} ({verdict.evidence})")
        print(
            f"{name}: tuning {walls['tuning']}/{pages['tuning']}, validation "
            f"{walls['validation']}/{pages['validation']}; classify mean "
            f"{1000 * sum(spent) / len(spent):.2f} ms, max {1000 * max(spent):.1f} ms per page"
        )


if __name__ == "__main__":
    main()
