"""Training files as a client uploads them (``/v1/files``): received into the data folder,
checked line by line, kept only if every line is a valid chat example.

A bad file is refused at upload with every problem's line number (``InvalidTrainingFile``),
not accepted and failed minutes later in a job. Token lengths against the base's context need
the base's tokenizer, which only the worker loads; it checks those when the job starts.
"""

from __future__ import annotations

import secrets
import shutil
from pathlib import Path
from typing import BinaryIO

from hearth.errors import InvalidRequest
from hearth.store import files
from hearth.store.db import Database
from hearth.store.files import FileRecord
from hearth.store.owner import Owner
from hearth.tune.data import validate

FINE_TUNE_PURPOSE = "fine-tune"
PURPOSES = (FINE_TUNE_PURPOSE,)


def upload(db: Database, owner: Owner, *, folder: Path, filename: str, purpose: str,
           stream: BinaryIO) -> FileRecord:
    """Receive ``stream`` into ``folder``, check it for ``purpose`` and keep it as the org's.

    Raises InvalidTrainingFile naming each bad line; nothing is kept then.
    """
    if purpose not in PURPOSES:
        raise InvalidRequest(f"Files are kept here for {', '.join(map(repr, PURPOSES))} only, "
                             f"not {purpose!r}.", param="purpose")
    folder.mkdir(parents=True, exist_ok=True)
    incoming = folder / f".incoming-{secrets.token_hex(8)}"
    try:
        with incoming.open("wb") as received:
            shutil.copyfileobj(stream, received)
        validate(incoming)
        return files.save_file(db, owner, source=incoming, filename=filename, purpose=purpose)
    finally:
        incoming.unlink(missing_ok=True)  # gone already once kept: it was moved


def files_folder(home: Path) -> Path:
    """Where uploaded files' bytes are kept, in the data folder."""
    return Path(home) / "files"
