"""The command line: ``python -m memkit demo | chat | export | import``."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from .agent import WorkerAgent
from .db import MemoryDB
from .errors import MemkitError
from .llm import choose_backend
from .manager import MemoryManager
from .transfer import export_jsonl, export_lines, import_jsonl

__all__ = ["DEMO_MESSAGES", "main"]

#: The three messages of the tutorial this project grows from.
DEMO_MESSAGES = (
    "We are building an agent that remembers projects long term.",
    "It should organize conversations into topics automatically.",
    "This memory system should support future reasoning.",
)


def _backend_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--backend", choices=["offline", "openai"], help="default: from the environment, else offline")
    parser.add_argument("--model", help="model name for an OpenAI-compatible backend")
    parser.add_argument("--base-url", help="server address, e.g. http://localhost:11434/v1 for Ollama")
    parser.add_argument("--timeout", type=float, help="seconds a model server is given to answer (default 60)")


def _build(args: argparse.Namespace) -> tuple[MemoryDB, WorkerAgent]:
    backend = choose_backend(args.backend, model=args.model, base_url=args.base_url, timeout=args.timeout)
    db = MemoryDB(args.db, namespace=args.namespace)
    manager = MemoryManager(db, backend)
    return db, WorkerAgent(manager)


def _demo(args: argparse.Namespace) -> int:
    db, agent = _build(args)
    print(f"backend: {agent.llm.describe()}\n")
    for message in DEMO_MESSAGES:
        print(f"you:   {message}")
        print(f"agent: {agent.answer(message)}\n")
    print("scenes:")
    for scene in db.list_scenes():
        print(f"- {scene.scene} ({scene.cell_count} cells): {scene.summary}")
    print("\ncells:")
    for cell in db.list_cells():
        print(f"- [{cell.scene}] {cell.cell_type:<10} {cell.salience:.2f}  {cell.content}")
    root = hasattr(os, "geteuid") and os.geteuid() == 0
    print(f"\nNext: open the course with `jupyter lab {'--allow-root ' if root else ''}notebooks/`.")
    return 0


def _chat(args: argparse.Namespace) -> int:
    db, agent = _build(args)
    print(f"memkit chat — {agent.llm.describe()}; memory in {db.path}")
    print("Type a message; /scenes, /cells, /search WORDS, /quit.")
    while True:
        try:
            line = input("you> ").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if not line:
            continue
        if line in ("/quit", "/exit"):
            return 0
        if line == "/scenes":
            for scene in db.list_scenes():
                print(f"  {scene.scene} ({scene.cell_count}): {scene.summary}")
        elif line == "/cells":
            for cell in db.list_cells():
                print(f"  #{cell.id} [{cell.scene}] {cell.cell_type} {cell.salience:.2f} {cell.content}")
        elif line.startswith("/search"):
            for hit in db.search(line[len("/search") :].strip() or " "):
                print(f"  {hit.score:7.3f} #{hit.id} [{hit.scene}] {hit.content}")
        else:
            print(f"agent> {agent.answer(line)}")


def _export(args: argparse.Namespace) -> int:
    db = MemoryDB(args.db, namespace=args.namespace, read_only=True)
    if args.file == "-":
        lines = export_lines(db)
        sys.stdout.writelines(lines)
        sys.stdout.flush()
        print(f"wrote {len(lines)} lines to standard output", file=sys.stderr)
    else:
        print(f"wrote {export_jsonl(db, args.file)} lines to {args.file}")
    return 0


def _import(args: argparse.Namespace) -> int:
    db = MemoryDB(args.db, namespace=args.namespace)
    text = None
    if args.file == "-":
        try:
            text = sys.stdin.buffer.read().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MemkitError(f"standard input is not a memkit export: it is not UTF-8 text ({exc})") from exc
    result = import_jsonl(db, args.file, text=text)
    already = f" ({result.skipped} already there)" if result.skipped else ""
    print(f"imported {result.added} cells{already} into {db.path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and docs)."""
    parser = argparse.ArgumentParser(prog="python -m memkit", description="A self-organising memory for LLM agents.")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="run the tutorial's three-message conversation and print the scenes")
    demo.add_argument("--db", default=":memory:", help="database file (default: in memory)")
    chat = commands.add_parser("chat", help="chat in the terminal with a persistent memory")
    chat.add_argument("--db", required=True, help="database file, created if missing")
    for sub in (demo, chat):
        _backend_args(sub)
    export = commands.add_parser("export", help="write a database's memory to JSON Lines")
    export.add_argument("--db", required=True, help="database file, or postgresql://user@host/dbname")
    export.add_argument("file", help="where to write it; - for standard output")
    imp = commands.add_parser("import", help="add memory from a JSON Lines export")
    imp.add_argument("--db", required=True, help="database file, or postgresql://user@host/dbname")
    imp.add_argument("file", help="the export to read; - for standard input")
    for sub in (demo, chat, export, imp):
        sub.add_argument("--namespace", default="default", help="whose memory (default: 'default')")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = build_parser().parse_args(argv)
    handlers = {"demo": _demo, "chat": _chat, "export": _export, "import": _import}
    try:
        return handlers[args.command](args)
    except (MemkitError, OSError) as exc:
        print(f"memkit: {exc}", file=sys.stderr)
        return 1
