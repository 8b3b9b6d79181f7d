"""``newsflow sources health``: what each source's pages come to, and the drift alarms."""

from typing import Annotated, Any

import typer
from rich.markup import escape

from .console import Column, console, print_listing, settings_with_database


def sources_health(
    source_id: Annotated[
        int | None, typer.Argument(metavar="[ID]", help="One source only.", show_default=False)
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
) -> None:
    """Each source's health: pages of the last day, fill rates, body length and alarms.

    A source is degraded when its recent pages (the last day, or its last 30) fill a field
    half as often as the weeks before, have half the body length, or mostly fail, beyond
    what chance explains. Sites of pages from no source are listed by host.
    """
    from pipeline.health.report import degraded, source_health

    settings = settings_with_database()
    reports = source_health(settings, source_id=source_id)
    if source_id is not None and not reports:
        raise typer.BadParameter(f"no such source: {source_id}", param_hint="ID")
    rows = [report.model_dump(mode="json") | {"label": report.label} for report in reports]
    title = f"source health ({len(degraded(reports))} degraded of {len(reports)})"
    print_listing(rows, title, HEALTH_COLUMNS, health_cells, as_json=as_json)
    if not as_json and rows:
        console.print(
            "[dim]articles and walls (interstitials): stored and met in the last 24 hours; "
            "rates and words: the recent pages, the weeks before in brackets where they "
            "differ[/dim]"
        )


HEALTH_COLUMNS = (
    Column("id", record="[bold]{}[/bold]"),
    Column("source", "shorten"),
    Column("state"),
    Column("articles", record="{} articles in the last day"),
    Column("title", drop=4, record="title {}"),
    Column("authors", drop=2, record="authors {}"),
    Column("date", drop=3, record="date {}"),
    Column("lang", drop=5, record="language {}"),
    Column("image", drop=6, record="image {}"),
    Column("words", drop=1, record="{} words"),
    Column("walls", record="{} interstitial(s) in the last day"),
    Column("alarm", "shorten", lines=3),
)

STATE_STYLES = {"ok": "green", "degraded": "bold red", "learning": "dim"}


def health_cells(row: dict[str, Any]) -> list[str]:
    """One source as ``sources health`` shows it: its recent window's figures beside its
    baseline's where they differ, the last day's pages, and the alarms in words."""
    recent, baseline = row["recent"], row["baseline"]

    def rate(field: str) -> str:
        now, before = recent["fill"][field], baseline["fill"][field]
        if now is None:
            return ""
        if before is None or round(before * 100) == round(now * 100):
            return f"{now:.0%}"
        return f"{now:.0%} ({before:.0%})"

    words, before = recent["median_words"], baseline["median_words"]
    length = "" if words is None else str(words)
    if length and before not in (None, words):
        length += f" ({before})"
    if row["state"] == "degraded":
        alarm = "; ".join(alarm["message"] for alarm in row["alarms"])
    elif row["state"] == "learning":
        alarm = f"alarms wait for {row['waiting_for']} more page(s)"
    else:
        alarm = ""
    return [
        f"#{row['source_id']}" if row["source_id"] is not None else "",
        escape(row["label"]),
        f"[{STATE_STYLES[row['state']]}]{row['state']}",
        str(row["last_day"]["articles"]),
        rate("title"),
        rate("authors"),
        rate("published"),
        rate("language"),
        rate("image"),
        ""
        if words is None
        else f"{words}" + (f" ({before})" if before not in (None, words) else ""),
        str(row["last_day"]["interstitials"] or ""),
        escape(alarm),
    ]
