"""multipart/form-data parsing with the standard library.

Starlette's `request.form()` needs python-multipart, which the project does not depend on;
the audience file upload is the only multipart endpoint the emulator serves.
"""

from __future__ import annotations

from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser


@dataclass(frozen=True)
class FormPart:
    name: str
    filename: str | None
    content_type: str
    data: bytes

    def text(self) -> str:
        return self.data.decode("utf-8")


def parse_form(content_type: str, body: bytes) -> dict[str, FormPart] | None:
    """The parts of a multipart body by field name, or None when it is not multipart."""
    if not content_type.lower().startswith("multipart/form-data"):
        return None
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = BytesParser(policy=policy.HTTP).parsebytes(head + body)
    if not isinstance(message, EmailMessage) or not message.is_multipart():
        return None
    parts: dict[str, FormPart] = {}
    for part in message.iter_parts():
        if not isinstance(part, EmailMessage):
            continue
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        parts[name] = FormPart(name, part.get_filename(), part.get_content_type(), data)
    return parts
