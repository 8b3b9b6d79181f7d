"""What a task's JSON message holds, read without trusting it.

A later stage's message names a stored page; a failure record names the same item and keeps
enough of the message to send it through again, even when the message itself is malformed.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from pipeline import stages
from pipeline.errors import InvalidMessage

Message = TypeVar("Message", bound=BaseModel)


def decode(model: type[Message], message: Any) -> Message:
    """The stage's input record from the JSON message, or a permanent, recorded failure."""
    try:
        return model.model_validate(message)
    except ValidationError as error:
        raise InvalidMessage(f"not a {model.__name__} message: {error}") from error


def page_payload(message: Any) -> dict[str, Any] | None:
    """The raw page a later stage's message is about, for a retry; None if it names none."""
    if isinstance(message, dict) and isinstance(message.get("page_id"), int):
        return {
            "page_id": message["page_id"],
            "url": str(message.get("url") or ""),
            "entry": message.get("entry"),
        }
    return None


def item_of(message: Any) -> tuple[str, int | None]:
    """How a failure record names what a message was about (and its page, if it names one)."""
    if not isinstance(message, dict):
        return repr(message)[:200], None
    page_id = message.get("page_id")
    if isinstance(page_id, int):
        return stages.page_item(page_id), page_id
    return str(message.get("canonical_url") or message.get("url") or repr(message)[:200]), None
