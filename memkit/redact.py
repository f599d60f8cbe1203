"""Keeping API keys out of everything memkit stores or writes.

A key pasted into a conversation by mistake, or echoed back by a model or a
server, is replaced by ``[redacted key]`` before it reaches the database, an
export or a recording, so memory never hands it to a model again.

Key-shaped text is: OpenAI and Anthropic keys (``sk-...``, ``sk-ant-...``),
AWS access key ids (``AKIA...``, ``ASIA...``), GitHub tokens (``ghp_...``,
``github_pat_...``), Google API keys (``AIza...``), Slack tokens
(``xoxb-...``), JSON web tokens (``eyJ...``), ``Bearer`` tokens, private key
blocks and the password of a URL (``https://user:password@host``). Invisible
characters (a zero-width space, a soft hyphen) inside a key do not hide it.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterable

__all__ = ["KEY_ENV", "REDACTED", "Redactor", "redact_secrets", "redact_url"]

#: The environment variable holding the OpenAI key.
KEY_ENV = "OPENAI_API_KEY"
#: What a key is replaced by.
REDACTED = "[redacted key]"

#: Characters that show nothing, so can sit inside a key without being seen.
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u00ad"
_I = f"[{_INVISIBLE}]*"


def _literal(prefix: str) -> str:
    """``prefix`` as a pattern that also matches it with invisible characters between its letters."""
    return _I.join(re.escape(ch) for ch in prefix)


def _run(chars: str, least: int) -> str:
    """``least`` or more of ``chars`` (a character class body), invisible characters allowed among them."""
    return f"(?:[{chars}]{_I}){{{least},}}"


_TOKEN = "A-Za-z0-9_\\-"
_BEARER = "A-Za-z0-9._~+/\\-"
_KEY_PATTERN = re.compile(
    "|".join(
        [
            rf"\b{_literal('sk-')}{_I}{_run(_TOKEN, 16)}",  # OpenAI, Anthropic (sk-ant-), most proxies
            rf"\b(?:{_literal('AKIA')}|{_literal('ASIA')}){_I}(?:[0-9A-Z]{_I}){{16}}(?![0-9A-Za-z])",  # AWS
            rf"\b(?:{_literal('github_pat_')}|gh[pousr]{_I}_){_I}{_run('A-Za-z0-9_', 30)}",  # GitHub
            rf"\b{_literal('AIza')}{_I}{_run(_TOKEN, 30)}",  # Google
            rf"\bxox[abposre]{_I}-{_run(_TOKEN, 10)}",  # Slack
            rf"\b{_literal('eyJ')}{_I}{_run(_TOKEN, 8)}\.{_I}{_run(_TOKEN, 4)}\.{_I}{_run(_TOKEN, 4)}",  # JWT
            rf"\b[Bb]earer\s+{_run(_BEARER, 16)}=*",  # an Authorization header
            r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----",
        ]
    )
)
#: ASCII text in which this finds nothing cannot hold a key: the full pattern (slower) is skipped.
_CLUES = re.compile(r"[sAgxeP](?:k-|KIA|SIA|Iza|h[pousr]_|ithub_pat_|ox|yJ|arer|RIVATE KEY)")
#: No key-shaped text is shorter than this.
_SHORTEST_KEY = 15
#: The password of a URL (``scheme://user:password@host``); the user name is kept.
_URL_PASSWORD = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s/:@]*):[^\s/@]+@")


@functools.lru_cache(maxsize=64)
def _known(secret: str) -> re.Pattern[str]:
    """A pattern for one known secret, invisible characters allowed between its characters."""
    return re.compile(_I.join(re.escape(ch) for ch in secret))


class Redactor:
    """:func:`redact_secrets` with its known secrets read once, for redacting many texts in a row.

    Short texts seen before (a namespace, a time, a scene name repeated down a
    batch of rows) are answered from memory.
    """

    __slots__ = ("_known", "_seen")

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        known = {s for s in (*secrets, os.environ.get(KEY_ENV) or "") if len(s) >= 8}
        self._known = sorted(known, key=len, reverse=True)
        self._seen: dict[str, str] = {}

    def __call__(self, text: str) -> str:
        """``text`` with every key replaced by ``[redacted key]``."""
        if len(text) < 8:
            return text
        if len(text) > 64:
            return self._redact(text)
        done = self._seen.get(text)
        if done is None:
            done = self._seen[text] = self._redact(text)
        return done

    def _redact(self, text: str) -> str:
        ascii_only = text.isascii()
        for secret in self._known:
            if secret in text:
                text = text.replace(secret, REDACTED)
            elif not ascii_only:
                text = _known(secret).sub(REDACTED, text)
        if "://" in text:
            text = _URL_PASSWORD.sub(rf"\1:{REDACTED}@", text)
        if len(text) >= _SHORTEST_KEY and (not ascii_only or _CLUES.search(text)):
            text = _KEY_PATTERN.sub(REDACTED, text)
        return text


def redact_secrets(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with anything that looks like an API key replaced by ``[redacted key]``.

    Replaced: key-shaped text (see the module docstring), the password of a
    URL, the value of ``OPENAI_API_KEY`` if it is set, and each of ``secrets``
    (those of 8 characters or more).
    """
    return Redactor(secrets)(text)


def redact_url(url: str) -> str:
    """``url`` without the user name and password it may carry (``https://user:pass@host`` -> ``https://host``)."""
    return re.sub(r"^([A-Za-z][A-Za-z0-9+.\-]*://)[^/@\s]*@", r"\1", url)
