"""What every command prints with, and the one way a command stops on an error.

Results go to standard output, so that they can be piped; errors, warnings and progress go
to standard error. Nothing here imports the stages, the store or Celery: ``newsflow --help``
loads this module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import typer
from rich.cells import cell_len
from rich.console import Console

from pipeline import STAGES

if TYPE_CHECKING:
    from rich.progress import Progress
    from rich.text import Text

    from pipeline.settings import Settings

console = Console()
# Messages are never folded by rich: the terminal wraps a long line, and a URL or a path in
# it stays one piece that can be selected and copied.
errors = Console(stderr=True, soft_wrap=True)


def error_exit(message: str, code: int = 1) -> typer.Exit:
    """Print ``message`` as an error and return the exit to raise (status ``code``)."""
    errors.print(f"[red]error:[/red] {message}")
    return typer.Exit(code)


def settings_with_database() -> Settings:
    """This command's settings, read once, with a database at the current schema; or a clear
    message and exit status 1."""
    from pipeline.errors import NewsflowError
    from pipeline.settings import get_settings
    from pipeline.store.db import prepare_database

    settings = get_settings()
    try:
        prepare_database(settings)
    except NewsflowError as error:
        raise error_exit(str(error)) from error
    return settings


def check_stage(stage: str | None) -> None:
    """Exit with the stages to choose from when ``stage`` is none of them."""
    if stage is not None and stage not in STAGES:
        raise error_exit(f"unknown stage {stage!r}; choose from {', '.join(STAGES)}")


def progress_bar(*, shown: bool = True) -> Progress:
    """A progress bar on standard error, which stays clear of the results on standard output."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=errors,
        disable=not shown,
    )


def print_json(data: Any) -> None:
    """``data`` as indented JSON on standard output, as every ``--json`` prints it."""
    import json

    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))


def moment(value: str | None) -> str:
    """An ISO time as a person reads it at a glance: to the minute, in local time, with no
    ``T`` to break a line at, e.g. ``2026-12-01 21:35``. A time with no zone is the store's
    UTC."""
    from datetime import UTC, datetime

    if not value:
        return ""
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return value
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone().strftime("%Y-%m-%d %H:%M")


def unrepeated(message: str, address: str) -> str:
    """``message`` without ``address`` where it opens or ends it (after a ``reason:``), for a
    listing that shows the address whole beside it: in a message cut short to fit, it would
    only be cut. "http_404: https://x/a answered 404" reads "http_404: answered 404"."""
    reason, colon, text = message.partition(": ")
    if not reason.isidentifier():  # no reason first, as in "no such file: /a/b"
        reason, colon, text = "", "", message
    if address and text.startswith(address):
        text = text.removeprefix(address).lstrip(" :")
    if address and text.endswith(address):
        text = text.removesuffix(address).rstrip(" :")
    return f"{reason}{colon}{text}" if text else message


# --- listings that fit the terminal -------------------------------------------------------------

# How a column may be made to fit (see Column).
Fit = Literal["keep", "whole", "shorten"]

# The narrowest a shortened column is cut to before the table gives way to records.
SHORTEST = 30
# Between two columns of a table: a space either side of a blank rule.
GAP = 3
# What the lines of a record under its heading are indented by.
INDENT = "  "


@dataclass(frozen=True)
class Column:
    """A column of a listing, and what may be done to it when the terminal is narrow.

    ``fit`` says how its values are shown: ``keep``, short values (an id, a status, a time)
    always whole; ``whole``, values that must never be cut (a URL, a path), so that they can be
    copied; ``shorten``, text (a title, a message) cut with an ellipsis to the room there is,
    in at most ``lines`` lines (``--json`` has it whole). When the table is too wide, the
    columns with a ``drop`` rank go first, the highest first; rank 0 never goes. ``record`` is
    how a value reads in a record, with no header above it: ``"tries {}"``.
    """

    name: str
    fit: Fit = "keep"
    drop: int = 0
    record: str = "{}"
    lines: int = 1


def print_listing(
    rows: list[dict[str, Any]],
    title: str,
    columns: Sequence[Column],
    cells: Callable[[dict[str, Any]], list[str]],
    *,
    as_json: bool,
) -> None:
    """Rows as a JSON list, or laid out for the terminal (:func:`print_rows`) with a row of
    ``cells(row)`` (rich markup) for each."""
    if as_json:
        print_json(rows)
        return
    print_rows(title, columns, [cells(row) for row in rows])


def print_rows(title: str, columns: Sequence[Column], rows: list[list[str]]) -> None:
    """A title, then the rows as a table that fits the terminal: empty columns left out, then
    droppable ones dropped and shortened ones cut until it fits. When even that is too wide
    (a long URL), one record per row: a heading of the short values, then each URL whole and
    each text shortened on a line of its own. No word is ever broken across lines."""
    from rich.text import Text

    console.print(Text(title, style="bold"))
    # A column with nothing in it (no duplicates, say) says nothing: it takes no room.
    shown = [
        index
        for index in range(len(columns))
        if any(Text.from_markup(row[index]).plain for row in rows)
    ]
    columns = [columns[index] for index in shown]
    rows = [[row[index] for index in shown] for row in rows]
    widths = table_widths(columns, [[Text.from_markup(cell) for cell in row] for row in rows])
    if widths is None:
        print_records(columns, rows)
    elif rows:
        print_table(columns, rows, widths)


def table_widths(columns: Sequence[Column], rows: list[list[Text]]) -> dict[int, int] | None:
    """The width of each column of a table that fits the terminal, by position, leaving out
    droppable ones, highest rank (then rightmost) first, until the rest fit; None when the
    columns that must stay do not fit even with each shortened one cut to ``SHORTEST``."""
    longest = [
        max([cell_len(column.name), *(row[index].cell_len for row in rows)])
        for index, column in enumerate(columns)
    ]
    least = [
        min(width, SHORTEST) if column.fit == "shorten" else width
        for column, width in zip(columns, longest, strict=True)
    ]
    kept = list(range(len(columns)))
    droppable = sorted(
        (index for index in kept if columns[index].drop),
        key=lambda index: (-columns[index].drop, -index),
    )
    room = console.width - GAP * (len(kept) - 1)
    while sum(least[index] for index in kept) > room:
        if not droppable:
            return None
        kept.remove(droppable.pop(0))
        room += GAP
    widths = {index: longest[index] for index in kept if columns[index].fit != "shorten"}
    # What the columns that may not be cut leave is shared among those that may.
    shortened = {
        index: (least[index], longest[index]) for index in kept if columns[index].fit == "shorten"
    }
    return widths | shares(room - sum(widths.values()), shortened)


def shares(room: int, wants: dict[int, tuple[int, int]]) -> dict[int, int]:
    """``room`` shared among columns that want from ``least`` to ``most`` each: each has its
    least, then the rest goes evenly, none past its most."""
    given = {index: least for index, (least, _) in wants.items()}
    room -= sum(given.values())
    hungry = [index for index, (_, most) in wants.items() if given[index] < most]
    while room > 0 and hungry:
        each = max(1, room // len(hungry))
        for index in list(hungry):
            more = min(each, wants[index][1] - given[index], room)
            given[index] += more
            room -= more
            if given[index] >= wants[index][1]:
                hungry.remove(index)
    return given


def print_table(columns: Sequence[Column], rows: list[list[str]], widths: dict[int, int]) -> None:
    """The rows as a borderless table with the columns of ``widths`` at those widths."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold")
    for index, width in sorted(widths.items()):
        table.add_column(columns[index].name, width=width, no_wrap=True, overflow="ignore")
    for row in rows:
        table.add_row(
            *(
                clipped(Text.from_markup(row[index]), width, columns[index].lines)
                if columns[index].fit == "shorten"
                else Text.from_markup(row[index])
                for index, width in sorted(widths.items())
            )
        )
    console.print(table)


def print_records(columns: Sequence[Column], rows: list[list[str]]) -> None:
    """One block a row: a heading of its short values, then each value that must stay whole
    and each shortened one on lines of their own. Droppable short values go, for every row
    alike, until each heading fits on one line. A URL too long for the terminal is printed
    whole all the same, for the terminal to wrap (it stays one line to copy)."""
    from rich.text import Text

    width = console.width
    blocks = [
        [
            (column, Text.from_markup(column.record.format(cell)))
            for column, cell in zip(columns, row, strict=True)
            if Text.from_markup(cell).plain
        ]
        for row in rows
    ]
    heading = [column for column in columns if column.fit == "keep"]
    droppable = sorted(
        (column for column in heading if column.drop),
        key=lambda column: (-column.drop, -columns.index(column)),
    )
    while droppable and any(
        sum(text.cell_len + 2 for column, text in block if column in heading) - 2 > width
        for block in blocks
    ):
        heading.remove(droppable.pop(0))
    for block in blocks:
        console.print()
        fields = [text for column, text in block if column in heading]
        for line in joined(fields, width):
            console.print(line, soft_wrap=True)
        for column, text in block:
            if column.fit == "whole":
                fits = text.cell_len + len(INDENT) <= width
                console.print(Text(INDENT) + text if fits else text, soft_wrap=True)
            elif column.fit == "shorten":
                shortened = clipped(text, width - len(INDENT), column.lines)
                for line in shortened.split():
                    console.print(Text(INDENT) + line, soft_wrap=True)


def joined(fields: list[Text], width: int) -> list[Text]:
    """``fields`` two spaces apart, in lines of ``width``, a line broken only between two."""

    lines: list[Text] = []
    for field in fields:
        if lines and lines[-1].cell_len + 2 + field.cell_len <= width:
            lines[-1].append("  ")
            lines[-1].append_text(field)
        else:
            lines.append(field.copy())
    return lines


def clipped(text: Text, width: int, lines: int = 1) -> Text:
    """``text`` wrapped between words to ``width``, in at most ``lines`` lines, the last ending
    in an ellipsis when there was more (a word too long for a line is cut the same way)."""
    from rich.text import Text

    wrapped = list(text.wrap(console, width, overflow="ellipsis"))
    for line in wrapped:
        line.rstrip()
    kept = wrapped[:lines]
    if len(wrapped) > lines:
        last = kept[-1].copy()
        last.rstrip()
        last.truncate(width - 1)
        last.append("…")
        kept[-1] = last
    return Text("\n").join(kept)


def wrapped_words(text: Text, width: int) -> list[Text]:
    """``text`` in lines of ``width``, broken only between words; a word longer than a line
    (a URL) is left whole on a line of its own, for the terminal to wrap if it must."""
    import re

    lines: list[Text] = []
    for line in text.split(allow_blank=True):
        breaks: list[int] = []
        column = 0
        for word in re.finditer(r"\S+\s*", line.plain):
            if column and column + cell_len(word.group().rstrip()) > width:
                breaks.append(word.start())
                column = 0
            column += cell_len(word.group())
        for part in line.divide(breaks):
            part.rstrip()
            lines.append(part)
    return lines


def print_facts(facts: Iterable[tuple[str, Any]]) -> None:
    """Each fact that has a value, as a dim label and its value, the values lined up after the
    longest label and wrapped between words under themselves."""
    from rich.text import Text

    shown = [(label, str(value)) for label, value in facts if value]
    if not shown:
        return
    indent = max(len(label) for label, _ in shown) + 2
    for label, value in shown:
        lines = wrapped_words(Text(value), max(console.width - indent, SHORTEST))
        for number, line in enumerate(lines):
            head = Text(label.ljust(indent), style="dim") if number == 0 else Text(" " * indent)
            console.print(head + line, soft_wrap=True)


def print_paragraphs(text: str) -> None:
    """Plain text wrapped between words to the terminal, a URL in it left whole."""
    from rich.text import Text

    for line in wrapped_words(Text(text), console.width):
        console.print(line, soft_wrap=True)
