"""How the assistant names the user it talks to, in the memories it keeps and in its prompt.

A user id is an identifier, often typed in lower case ("ingrid"); memories written with it read
"ingrid works as …" and the model cannot tell it is a person's name. An id that is a name in
lower case is written as one ("ingrid" → "Ingrid", "ingrid.olsen" → "Ingrid Olsen", the part
of an e-mail address before the @ likewise); an id with capitals is kept as the user wrote it
("McKenzie"), and one that is not a name ("u-4821") is kept as it is.
"""

from __future__ import annotations

import re

from hearth.store.memories import Owner

_LOWER_CASE_NAME = re.compile(r"[a-z]+(?:[._ -][a-z]+)*")
_SEPARATORS = re.compile(r"[._ -]")


def user_name(owner: Owner) -> str:
    """The user's name as memories and the system prompt write it."""
    local = owner.user_id.split("@", 1)[0]
    if _LOWER_CASE_NAME.fullmatch(local):
        return " ".join(part.capitalize() for part in _SEPARATORS.split(local))
    return owner.user_id
