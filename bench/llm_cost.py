"""LLM cost as a conversation grows: calls and prompt tokens per turn, memkit against the tutorial's loop.

    python bench/llm_cost.py [--turns 300] [--locomo PATH] [--plot bench/plots/tokens_per_turn.png]

The first ``--turns`` turns of a long conversation (the first LoCoMo
conversation when the file is there, else memkit's course conversation,
repeated) are sent one by one as user messages to:

- **memkit**: ``WorkerAgent.answer`` (recall, answer, extract, consolidate
  incrementally) on the offline engine;
- **tutorial**: a faithful re-implementation of the tutorial's loop
  (``bench/tutorial.py``): recall, answer, extract, then re-summarise every
  cell of each touched scene.

Both backends give deterministic replies and every call goes through
:func:`memkit.llm.invoke`, so :class:`memkit.evaluation.CostMeter` counts calls
and prompt tokens (:func:`memkit.llm.estimate_tokens`, the same rule for both)
turn by turn.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import memkit
from bench.locomo import DEFAULT_LOCOMO, find_locomo, read_locomo
from bench.plotting import png
from bench.tutorial import TutorialAgent, TutorialLLM, TutorialManager, TutorialMemoryDB
from memkit.datasets import load_course_conversation
from memkit.evaluation import CostMeter, TurnCost, linear_slope

__all__ = ["REPORTED_TURNS", "main", "messages", "run_memkit", "run_tutorial"]

#: The turns whose cost is printed.
REPORTED_TURNS = (1, 10, 20, 50, 100, 200, 300)
#: Single turns vary with the length of the message; the target compares means over this many turns.
WINDOW = 10


def messages(count: int, locomo: str | None) -> tuple[str, list[str]]:
    """``count`` user messages, and where they come from."""
    try:
        path = find_locomo(locomo)
    except SystemExit:
        if locomo:
            raise
        path = None
    if path is not None:
        conversation = read_locomo(path)[0]
        texts = [turn.text for turn in conversation.turns]
        source = f"{path.name}, conversation {conversation.name}"
    else:
        texts = [message.text for message in load_course_conversation().messages]
        source = f"memkit's course conversation (no {DEFAULT_LOCOMO.name} found)"
    if len(texts) < count:
        source += f", repeated to {count} turns"
    return source, [texts[i % len(texts)] for i in range(count)]


def run_memkit(texts: Sequence[str]) -> list[TurnCost]:
    """Cost per turn of memkit's agent on the offline engine."""
    db = memkit.MemoryDB()
    manager = memkit.MemoryManager(db, memkit.OfflineEngine())
    agent = memkit.WorkerAgent(manager)
    meter = CostMeter(manager.calls)
    for text in texts:
        with meter.turn():
            agent.answer(text)
    db.close()
    return meter.turns


def run_tutorial(texts: Sequence[str]) -> list[TurnCost]:
    """Cost per turn of the tutorial's loop."""
    calls = memkit.CallLog()
    db = TutorialMemoryDB()
    agent = TutorialAgent(db, TutorialManager(db, TutorialLLM(), calls))
    meter = CostMeter(calls)
    for text in texts:
        with meter.turn():
            agent.answer(text)
    return meter.turns


def window_mean(turns: Sequence[TurnCost], last: int) -> float:
    """Mean prompt tokens per turn over the ``WINDOW`` turns ending at turn ``last``."""
    chosen = turns[max(0, last - WINDOW) : last]
    return sum(t.prompt_tokens for t in chosen) / len(chosen)


def summary(turns: Sequence[TurnCost]) -> dict[str, float]:
    """Slope of prompt tokens per turn, the largest number of calls in a turn, and the target's ratio."""
    xs = [float(t.turn) for t in turns]
    ys = [float(t.prompt_tokens) for t in turns]
    return {
        "slope": linear_slope(xs, ys) if len(turns) >= 2 else 0.0,
        "max_calls": max(t.calls for t in turns),
        "ratio": window_mean(turns, len(turns)) / window_mean(turns, min(20, len(turns))),
        "mean": sum(ys) / len(ys),
    }


def format_results(results: dict[str, list[TurnCost]]) -> str:
    """Markdown tables: calls and prompt tokens at the reported turns, then the slope and ratio."""
    count = len(next(iter(results.values())))
    shown = [t for t in REPORTED_TURNS if t <= count] or [count]
    lines = [
        "| system | " + " | ".join(f"turn {t}" for t in shown) + " |",
        "|---" * (1 + len(shown)) + "|",
    ]
    for name, turns in results.items():
        lines.append(f"| {name}: calls | " + " | ".join(str(turns[t - 1].calls) for t in shown) + " |")
        lines.append(
            f"| {name}: prompt tokens | " + " | ".join(f"{turns[t - 1].prompt_tokens:,}" for t in shown) + " |"
        )
        lines.append(
            f"| {name}: prompt tokens, mean of {WINDOW} turns | "
            + " | ".join(f"{window_mean(turns, t):,.0f}" for t in shown)
            + " |"
        )
    lines += [
        "",
        f"| system | prompt tokens per turn, mean of all {count} | slope (prompt tokens per turn, per turn)"
        f" | most calls in one turn | mean tokens at turn {count} / at turn 20 ({WINDOW}-turn means) |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, turns in results.items():
        s = summary(turns)
        lines.append(f"| {name} | {s['mean']:,.0f} | {s['slope']:.2f} | {s['max_calls']:.0f} | {s['ratio']:.2f}x |")
    return "\n".join(lines)


def plot(results: dict[str, list[TurnCost]], path: Path) -> None:
    """Prompt tokens per turn against the turn number, for each system."""
    with png(path, (7, 4)) as axes:
        for name, turns in results.items():
            axes.plot([t.turn for t in turns], [t.prompt_tokens for t in turns], linewidth=1, label=name)
        axes.set_xlabel("turn")
        axes.set_ylabel("prompt tokens in that turn")
        axes.set_title("Prompt tokens per turn as the conversation grows")
        axes.legend()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=300, help="how many turns to send (default 300)")
    parser.add_argument("--locomo", help="a LoCoMo-format JSON file (default: ../shared/data/locomo_dev.json)")
    parser.add_argument("--plot", type=Path, help="save a plot of prompt tokens per turn to this PNG")
    args = parser.parse_args(argv)
    if args.turns < 2:
        parser.error(f"--turns must be at least 2, got {args.turns}")
    source, texts = messages(args.turns, args.locomo)
    print(f"{args.turns} turns from {source}; memkit {memkit.__version__}\n")
    results = {"memkit": run_memkit(texts), "tutorial": run_tutorial(texts)}
    print(format_results(results))
    if args.plot:
        plot(results, args.plot)
        print(f"\nplot saved to {args.plot}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
