"""Keeping API keys out of everything memkit stores or writes.

A key pasted into a conversation by mistake, or echoed back by a model or a
server, is replaced by ``[redacted key]`` before it reaches the database, an
export or a recording, so memory never hands it to a model again.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable

__all__ = ["KEY_ENV", "REDACTED", "redact_secrets"]

#: The environment variable holding the OpenAI key.
KEY_ENV = "OPENAI_API_KEY"
#: What a key is replaced by.
REDACTED = "[redacted key]"

#: Text shaped like an API key: ``sk-`` (OpenAI, Anthropic, most proxies) then a long token.
_KEY_PATTERN = re.compile(r"\bsk-[A-Za-z0-9_\-]{16,}")


def redact_secrets(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with anything that looks like an API key replaced by ``[redacted key]``.

    Replaced: text shaped like a key (``sk-`` and 16 or more token characters),
    the value of ``OPENAI_API_KEY`` if it is set, and each of ``secrets``.
    """
    known = [s for s in (*secrets, os.environ.get(KEY_ENV) or "") if len(s) >= 8]
    for secret in sorted(known, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return _KEY_PATTERN.sub(REDACTED, text)
