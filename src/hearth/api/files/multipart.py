"""A ``multipart/form-data`` body (an upload: the ``openai`` SDK's ``files.create``), read with
the standard library's MIME parser.

Starlette's form parser needs ``python-multipart``, which is not in hearth's lock; the email
package parses the same MIME structure, and the body is already bounded in size by
``BodyLimitMiddleware`` before it is read here.
"""

from __future__ import annotations

from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from hearth.errors import InvalidRequest, UnsupportedMediaType

FORM = "multipart/form-data"


@dataclass(frozen=True)
class FormFile:
    filename: str
    content: bytes


@dataclass(frozen=True)
class Form:
    """The text fields of a form, and its file fields."""

    fields: dict[str, str]
    files: dict[str, FormFile]


def parse_form(content_type: str | None, body: bytes) -> Form:
    """The fields of a ``multipart/form-data`` body; 415 for another media type, 400 for a
    body that is not the multipart it says it is."""
    media = (content_type or "").partition(";")[0].strip().lower()
    if media != FORM:
        raise UnsupportedMediaType(f"Send the upload as {FORM} (a 'file' part and a 'purpose' "
                                   f"field), not as {media or 'no media type'!r}.")
    try:
        message = BytesParser(policy=policy.HTTP).parsebytes(
            b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body)
    except (UnicodeEncodeError, ValueError) as error:
        raise InvalidRequest(f"The multipart body cannot be read: {error}.") from None
    if not isinstance(message, EmailMessage) or not message.is_multipart() or message.defects:
        raise InvalidRequest(f"The body is not valid {FORM} (check its boundary).")
    fields: dict[str, str] = {}
    files: dict[str, FormFile] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue  # a part without a field name belongs to no field
        content = part.get_payload(decode=True)
        content = content if isinstance(content, bytes) else b""
        filename = part.get_filename()
        if filename is not None:
            files[name] = FormFile(filename=filename, content=content)
        else:
            fields[name] = content.decode("utf-8", "replace")
    return Form(fields=fields, files=files)
