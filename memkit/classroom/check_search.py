"""Exercise 1, a safe full-text search: practice notes, and the checks of ``build_query`` and ``search``."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Sequence

from .feedback import Checker, Feedback, run_checks

__all__ = ["HOSTILE_QUERIES", "NOTES", "practice_notes", "safe_search"]

#: The practice notes, in the order they are inserted (which is not the order of relevance).
NOTES: tuple[str, ...] = (
    "The plumber comes on Tuesday to move the sink pipes.",
    "Tomas builds the cabinets; Maya chose oak fronts over white lacquer.",
    "Maya's budget for the kitchen is 12,000 euros, appliances included.",
    "Oak cabinets, oak shelves, oak floor: Maya loves oak.",
    "The countertop is quartz, because marble stains too easily.",
    "NOT before June: the oak delivery takes six weeks.",
    "Ines is vegetarian; book restaurants with vegetarian menus in Lisbon.",
    "The old kitchen gets torn out on March 18.",
)

#: Text that breaks a query builder which pastes words into FTS5 syntax or into SQL.
HOSTILE_QUERIES: tuple[str, ...] = (
    'what about "oak',
    "Maya's oak",
    "oak AND",
    "NEAR(oak",
    "-oak",
    "budget:oak",
    "(oak",
    "^oak",
    "oak NOT",
    "'; DROP TABLE notes; --",
    "*",
    "",
    "   ",
    "!!!",
)

BuildQuery = Callable[[str], "str | None"]
Search = Callable[..., Sequence[str]]


def practice_notes() -> sqlite3.Connection:
    """An in-memory database with an FTS5 table ``notes(content)`` holding :data:`NOTES`."""
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE notes USING fts5(content, tokenize = 'porter unicode61')")
    conn.executemany("INSERT INTO notes (content) VALUES (?)", [(note,) for note in NOTES])
    return conn


def _reference(conn: sqlite3.Connection, text: str, limit: int) -> list[str]:
    words = list(dict.fromkeys(re.findall(r"\w+", text.lower())))
    if not words:
        return []
    expression = " OR ".join(f'"{word}"' for word in words)
    rows = conn.execute("SELECT content FROM notes WHERE notes MATCH ? ORDER BY rank LIMIT ?", (expression, limit))
    return [content for (content,) in rows]


def _inserted(conn: sqlite3.Connection, text: str, limit: int) -> list[str]:
    found = set(_reference(conn, text, 100))
    return [note for note in NOTES if note in found][:limit]


def _runs(conn: sqlite3.Connection, expression: str) -> str | None:
    """None if FTS5 accepts ``expression`` as a parameter, else its error."""
    try:
        conn.execute("SELECT count(*) FROM notes WHERE notes MATCH ?", (expression,)).fetchone()
    except sqlite3.Error as exc:
        return str(exc)
    return None


def safe_search(build_query: BuildQuery, search: Search) -> Feedback:
    """Check exercise 1: ``build_query(text) -> str | None`` and ``search(conn, text, limit=5) -> list[str]``."""

    def checks(c: Checker) -> None:
        conn = practice_notes()
        expression = c.call(build_query, "oak")
        c.require(
            isinstance(expression, str),
            "build_query('oak') gives a MATCH expression (a string)",
            f"build_query('oak') returned {expression!r}: return the MATCH expression as a string, e.g. '\"oak\"'",
        )
        empty = [text for text in ("", "   ", "!!!") if c.call(build_query, text) is not None]
        c.check(
            not empty,
            "text without words gives None (there is nothing to search for)",
            f"build_query({empty[0]!r}) should return None: it has no words to search for" if empty else "",
        )
        broken = []
        for text in HOSTILE_QUERIES:
            built = c.call(build_query, text)
            if isinstance(built, str):
                error = _runs(conn, built)
                if error is not None:
                    broken.append((text, built, error))
        c.check(
            not broken,
            f"all {len(HOSTILE_QUERIES)} tricky inputs give expressions FTS5 accepts",
            (
                f"build_query({broken[0][0]!r}) gave {broken[0][1]!r}, which FTS5 rejects ({broken[0][2]}): "
                "put every word in double quotes, e.g. '\"oak\"', so FTS5 reads it as a word, never as syntax"
            )
            if broken
            else "",
        )
        results = c.call(search, conn, "oak", limit=5, name="search")
        c.require(
            isinstance(results, list) and all(isinstance(r, str) for r in results),
            "search returns a list of note texts",
            f"search(conn, 'oak') returned {type(results).__name__}: return a list of the notes' content strings",
        )
        best, inserted = _reference(conn, "oak", 5), _inserted(conn, "oak", 5)
        if results == inserted:
            c.check(False, "", "your query builder returned rows in insertion order: sort by rank (ORDER BY rank)")
        else:
            c.check(
                results == best,
                "search('oak') gives the best notes first (ORDER BY rank)",
                f"search(conn, 'oak') gave {results!r}; the best first would be {best!r}: "
                "select with MATCH and ORDER BY rank",
            )
        two = c.call(search, conn, "oak", limit=2, name="search")
        c.check(
            len(two) == 2,
            "search respects limit",
            f"search(conn, 'oak', limit=2) gave {len(two)} notes: add LIMIT ? with the limit as a parameter",
        )
        either = c.call(search, conn, "oak budget", limit=8, name="search")
        c.check(
            sorted(either) == sorted(_reference(conn, "oak budget", 8)),
            "a note matching some of the words is found ('oak budget' finds the budget note and the oak notes)",
            f"search(conn, 'oak budget') found {len(either)} notes, not {len(_reference(conn, 'oak budget', 8))}: "
            "join the quoted words with OR, so a note with any of them is found and bm25 ranks "
            "notes with more of them first",
        )
        failed = []
        for text in HOSTILE_QUERIES:
            try:
                found = search(conn, text, limit=5)
            except Exception as exc:
                failed.append((text, f"{type(exc).__name__}: {exc}"))
                continue
            if sorted(found) != sorted(_reference(conn, text, 5)):
                failed.append((text, f"gave {list(found)!r}"))
        hint = ""
        if failed:
            text, what = failed[0]
            hint = f"search(conn, {text!r}) {what}: "
            hint += (
                "pass the expression as a parameter (MATCH ?), never paste it into the SQL text"
                if "syntax error" in what or "unrecognized token" in what
                else "every word of the text should be searched for, and text without words finds nothing"
            )
        c.check(not failed, "search copes with every tricky input", hint)
        c.check(
            conn.execute("SELECT count(*) FROM notes").fetchone()[0] == len(NOTES),
            "the notes table is intact",
            "the notes table lost rows: never paste text into SQL, pass it as a parameter",
        )

    return run_checks("a safe full-text search", checks)
