"""The IPython extension: ``%load_ext memkit``, then ``%memkit ...`` and ``%%remember``.

The only module that imports IPython. It adds exactly two magics, neither of
which IPython has (IPython's own ``%recall``, ``%history``, ``%store``... are
left alone):

``%memkit [subcommand] [arguments]``, one line magic for everything (see
:data:`USAGE`, or ``%memkit help``), and ``%%remember [--speaker NAME]``, which
stores the cell's text as memory: the memory manager extracts cells from it and
consolidates their scenes, as for a chat message.
"""

from __future__ import annotations

import argparse
import os
import shlex
from typing import TYPE_CHECKING, Any, NoReturn

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class

from .agent import WorkerAgent
from .db import MemoryDB
from .errors import MemkitError
from .llm import Backend, RecordingBackend, ReplayBackend, choose_backend
from .manager import MemoryManager, UpdateResult
from .types import Utterance

if TYPE_CHECKING:
    import pandas as pd
    from IPython.core.interactiveshell import InteractiveShell

    from .widgets import ChatBox

__all__ = ["USAGE", "MemkitMagics", "Session", "load_ipython_extension"]

#: What ``%memkit help`` prints.
USAGE = """\
%memkit                         what memory and backend are in use (same as %memkit status)
%memkit open memory.db          use this database file (--namespace NAME for another namespace)
%memkit backend offline         the offline engine (the default)
%memkit backend openai          OpenAI, or any compatible server: --model NAME --base-url URL
%memkit backend replay FILE     answer from a recording (no FILE: the course recording)
%memkit backend record FILE     keep the current backend, recording every call to FILE (--mode a|w)
%memkit use agent               work on a WorkerAgent, MemoryManager or MemoryDB of the notebook
%memkit chat                    a chat box with live tables of memory beside it
%memkit ask MESSAGE             answer with memory, then remember the exchange
%memkit recall [-k 5] QUERY     what memory recalls for a query (a DataFrame of hits)
%memkit cells [SCENE]           every memory cell (a DataFrame)
%memkit scenes                  every scene with its summary (a DataFrame)
%memkit calls                   every model call so far (a DataFrame)
%%remember [--speaker NAME]     (cell magic) store the cell's text as memory"""

_SUBCOMMANDS = ("status", "open", "backend", "use", "chat", "ask", "recall", "cells", "scenes", "calls", "help")


class _Parser(argparse.ArgumentParser):
    """argparse that reports mistakes as IPython usage errors instead of exiting."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")


def _parser(prog: str, description: str) -> _Parser:
    return _Parser(prog=prog, description=description, add_help=False)


class Session:
    """The memory the magics work on: a database, its manager and an agent."""

    def __init__(self) -> None:
        self.db = MemoryDB()
        self.manager = MemoryManager(self.db)
        self.agent = WorkerAgent(self.manager)
        self._owns_db = True

    @property
    def backend(self) -> Backend:
        """The backend the manager and agent call."""
        return self.manager.llm

    def open(self, path: str, namespace: str) -> None:
        """Switch to a database file, keeping the backend."""
        db = MemoryDB(path, namespace=namespace)
        self._replace(db, MemoryManager(db, self.backend), owns_db=True)

    def set_backend(self, backend: Backend) -> None:
        """Switch backend, keeping the database (and the call log)."""
        manager = MemoryManager(self.db, backend, calls=self.manager.calls)
        self._replace(self.db, manager, owns_db=self._owns_db)

    def use(self, obj: object, name: str) -> None:
        """Work on a notebook's own agent, manager or database."""
        if isinstance(obj, WorkerAgent):
            self._replace(obj.db, obj.manager, owns_db=False, agent=obj)
        elif isinstance(obj, MemoryManager):
            self._replace(obj.db, obj, owns_db=False)
        elif isinstance(obj, MemoryDB):
            self._replace(obj, MemoryManager(obj, self.backend, calls=self.manager.calls), owns_db=False)
        else:
            raise UsageError(f"{name} is a {type(obj).__name__}; give a WorkerAgent, a MemoryManager or a MemoryDB")

    def _replace(
        self, db: MemoryDB, manager: MemoryManager, *, owns_db: bool, agent: WorkerAgent | None = None
    ) -> None:
        if db is not self.db and self._owns_db:
            self.db.close()
        self.db, self.manager, self._owns_db = db, manager, owns_db
        self.agent = agent if agent is not None else WorkerAgent(manager)

    def status(self) -> str:
        """Two lines: the memory in use and the backend."""
        where = "in memory (gone when the kernel stops)" if self.db.path == ":memory:" else repr(self.db.path)
        return (
            f"memory: {where}, namespace {self.db.namespace!r}: "
            f"{self.db.count_cells()} cells in {len(self.db.list_scenes())} scenes\n"
            f"backend: {self.backend.describe()}"
        )


def _describe_update(result: UpdateResult) -> str:
    if result.error is not None:
        return f"not remembered yet ({result.error}); the text is kept for the manager's retry_failed()"
    if not result.cells:
        return "nothing to remember in that text (no statement the memory manager could keep)"
    noun = "cell" if len(result.cells) == 1 else "cells"
    lines = [f"remembered {len(result.cells)} {noun} in {', '.join(repr(s) for s in result.scenes)}:"]
    lines += [f"  #{c.id} {c.cell_type} ({c.salience:.2f}): {c.content}" for c in result.cells]
    return "\n".join(lines)


@magics_class
class MemkitMagics(Magics):
    """``%memkit`` and ``%%remember`` (see :mod:`memkit.magics`)."""

    def __init__(self, shell: InteractiveShell) -> None:
        super().__init__(shell)
        self.session = Session()

    @line_magic
    def memkit(self, line: str) -> Any:
        """Use memkit's memory from a notebook. ``%memkit help`` lists the subcommands."""
        command, _, rest = line.strip().partition(" ")
        command = command or "status"
        handler = getattr(self, f"_do_{command}", None) if command in _SUBCOMMANDS else None
        if handler is None:
            raise UsageError(f"%memkit has no subcommand {command!r}; use one of: {', '.join(_SUBCOMMANDS)}")
        try:
            return handler(rest.strip())
        except MemkitError as exc:
            raise UsageError(str(exc)) from exc

    @cell_magic
    def remember(self, line: str, cell: str) -> None:
        """Store the cell's text as memory: ``%%remember [--speaker NAME]``."""
        parser = _parser("%%remember", "Store the cell's text as memory.")
        parser.add_argument("--speaker", default="User", help="who says the text (default: User)")
        args = parser.parse_args(shlex.split(line))
        text = cell.strip()
        if not text:
            raise UsageError("%%remember needs some text in the cell below the magic")
        try:
            result = self.session.manager.remember([Utterance(args.speaker, text)])
        except MemkitError as exc:
            raise UsageError(str(exc)) from exc
        print(_describe_update(result))

    # -- subcommands ------------------------------------------------------------

    def _do_help(self, rest: str) -> None:
        print(USAGE)

    def _do_status(self, rest: str) -> None:
        print(self.session.status())

    def _do_open(self, rest: str) -> None:
        parser = _parser("%memkit open", "Use a database file.")
        parser.add_argument("path")
        parser.add_argument("--namespace", default="default")
        args = parser.parse_args(shlex.split(rest))
        self.session.open(os.path.expanduser(args.path), args.namespace)
        print(self.session.status())

    def _do_backend(self, rest: str) -> None:
        parser = _parser("%memkit backend", "Choose the backend.")
        parser.add_argument("kind", choices=["offline", "openai", "replay", "record"])
        parser.add_argument("file", nargs="?")
        parser.add_argument("--model")
        parser.add_argument("--base-url")
        parser.add_argument("--timeout", type=float, help="seconds a model server is given to answer")
        parser.add_argument("--mode", choices=["x", "a", "w"], default="x", help="record: new, append, overwrite")
        args = parser.parse_args(shlex.split(rest))
        backend: Backend
        if args.kind in ("offline", "openai"):
            backend = choose_backend(args.kind, model=args.model, base_url=args.base_url, timeout=args.timeout)
        elif args.kind == "replay":
            backend = ReplayBackend(args.file or _course_recording())
        else:
            if not args.file:
                raise UsageError("%memkit backend record needs a file: %memkit backend record lesson.jsonl")
            current = self.session.backend
            inner = current.inner if isinstance(current, RecordingBackend) else current
            backend = RecordingBackend(inner, args.file, mode=args.mode)
        self.session.set_backend(backend)
        print(self.session.status())

    def _do_use(self, rest: str) -> None:
        name = rest.strip()
        if not name.isidentifier():
            raise UsageError("%memkit use needs the name of a variable: %memkit use agent")
        namespace = self.shell.user_ns if self.shell is not None else {}
        if name not in namespace:
            raise UsageError(f"there is no variable {name!r} in this notebook")
        self.session.use(namespace[name], name)
        print(self.session.status())

    def _do_chat(self, rest: str) -> ChatBox:
        from .widgets import ChatBox

        if rest:
            raise UsageError("%memkit chat takes no arguments; choose memory and backend first with open and backend")
        return ChatBox(self.session.agent)

    def _do_ask(self, rest: str) -> None:
        if not rest:
            raise UsageError("%memkit ask needs a message: %memkit ask What is the kitchen budget?")
        print(self.session.agent.answer(rest))

    def _do_recall(self, rest: str) -> pd.DataFrame:
        from .views import search_df

        words = rest.split()
        limit = 10
        if words[:1] in (["-k"], ["--limit"]):
            if len(words) < 2 or not words[1].isdigit() or int(words[1]) < 1:
                raise UsageError("%memkit recall -k needs a positive number: %memkit recall -k 5 kitchen budget")
            limit, words = int(words[1]), words[2:]
        if not words:
            raise UsageError("%memkit recall needs a query: %memkit recall kitchen budget")
        return search_df(self.session.db, " ".join(words), limit)

    def _do_cells(self, rest: str) -> pd.DataFrame:
        from .views import cells_df

        return cells_df(self.session.db, rest or None)

    def _do_scenes(self, rest: str) -> pd.DataFrame:
        from .views import scenes_df

        return scenes_df(self.session.db)

    def _do_calls(self, rest: str) -> pd.DataFrame:
        from .views import calls_df

        return calls_df(self.session.manager.calls.calls)


def _course_recording() -> str:
    from .classroom.course import course_recording_path

    return os.fspath(course_recording_path())


def load_ipython_extension(ipython: InteractiveShell) -> None:
    """Register ``%memkit`` and ``%%remember`` in ``ipython``."""
    ipython.register_magics(MemkitMagics)
