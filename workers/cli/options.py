"""Options several commands share, worded once: what selects stored articles."""

from typing import Annotated

import typer

SourceOption = Annotated[
    str | None,
    typer.Option(help="Only a source's articles (its id or URL), or a site's (host name)."),
]
LanguageOption = Annotated[
    str | None, typer.Option(metavar="CODE", help="Only articles in this language (en, de).")
]
UniqueOption = Annotated[bool, typer.Option("--unique", help="Hide duplicates: originals only.")]
