"""How ``--help`` spells parameters: the way command-line tools have long spelled them.

Typer 0.29 shows a type after every option in its rich help, flags included (``--wait
<bool>``, though a flag takes no value), and writes a required argument in braces
(``{sources}...``), which reads as a placeholder left unfilled. The two methods that do so
are replaced here, once, when the CLI is built: a flag shows no type, and an argument is
its name in capitals (``SOURCES...``, required; ``[FILE]``, optional). Where a later Typer
has moved them, its own spelling stays and nothing breaks.
"""

from __future__ import annotations

from typing import Any

from typer import core


def plain_usage() -> None:
    """Spell flags and arguments in ``--help`` as described above (idempotent)."""
    option = getattr(core, "TyperOption", None)
    argument = getattr(core, "TyperArgument", None)
    if option is not None and hasattr(option, "display_type_rich"):
        typed = option.display_type_rich
        if not getattr(typed, "newsflow", False):
            option.display_type_rich = _flag_untyped(typed)
    if argument is not None and hasattr(argument, "_usage_display_name"):
        argument._usage_display_name = _argument_usage


def _flag_untyped(typed: Any) -> Any:
    def display_type_rich(self: Any, ctx: Any) -> str | None:
        if getattr(self, "is_flag", False) or getattr(self, "count", False):
            return None  # a flag takes no value: there is no type to show
        return typed(self, ctx)

    display_type_rich.newsflow = True  # type: ignore[attr-defined]
    return display_type_rich


def _argument_usage(self: Any) -> str:
    name = str(self.metavar or self.name).upper()
    if self.metavar is None and self.nargs != 1:
        name += "..."
    return name if self.required else f"[{name}]"
