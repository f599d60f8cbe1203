"""A chat box for Jupyter with live views of memory beside the conversation.

The only module that imports ipywidgets.

>>> chat = ChatBox(agent)   # doctest: +SKIP
>>> chat                    # doctest: +SKIP

On the left, the conversation and a text box (press Enter or *Send*). On the
right, tabs that follow the conversation: the memory cells, the scenes, what
was recalled for the last reply (with scores) and every model call.

The reply comes first; with ``WorkerAgent(..., background=True)`` the memory
update runs on a worker thread and the chat stays usable meanwhile. When the
update finishes, the tables are refreshed on the kernel's own thread (widget
changes are scheduled there, never made from the worker). Everything memory
holds is shown as text: it is escaped before it becomes HTML.
"""

from __future__ import annotations

import asyncio
import html
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import ipywidgets as widgets

from .agent import WorkerAgent
from .errors import MemkitError

__all__ = ["ChatBox", "ChatLine", "html_table"]

#: The tabs beside the chat, in order.
TAB_NAMES: tuple[str, ...] = ("Cells", "Scenes", "Recalled", "LLM calls")
#: At most this many rows per table (the newest).
MAX_ROWS = 200

Scheduler = Callable[[Callable[[], None]], None]

_TABLE_STYLE = "border-collapse:collapse;font-size:12px;width:100%"
_CELL_STYLE = "border-bottom:1px solid #ddd;padding:2px 6px;text-align:left;vertical-align:top"


def html_table(headers: Sequence[str], rows: Sequence[Sequence[object]], *, empty: str = "nothing yet") -> str:
    """An HTML table whose every header and value is escaped (memory text is data, never markup)."""
    if not rows:
        return f"<p><i>{html.escape(empty)}</i></p>"
    head = "".join(f'<th style="{_CELL_STYLE}">{html.escape(str(h))}</th>' for h in headers)
    body = "".join(
        "<tr>" + "".join(f'<td style="{_CELL_STYLE}">{html.escape(_text(v))}</td>' for v in row) + "</tr>"
        for row in rows
    )
    return f'<table style="{_TABLE_STYLE}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


@dataclass(frozen=True)
class ChatLine:
    """One line of the conversation shown in the chat box."""

    speaker: str
    text: str


def _main_thread_scheduler() -> Scheduler:
    """Run callbacks on the event loop of the thread that built the chat box (the kernel's).

    Outside a running loop (plain Python, tests) callbacks run at once.
    """
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return lambda callback: callback()

    def call_soon(callback: Callable[[], None]) -> None:
        loop.call_soon_threadsafe(callback)

    return call_soon


class ChatBox(widgets.HBox):  # type: ignore[misc]
    """Chat with a :class:`~memkit.WorkerAgent` and watch its memory change.

    :param agent: the agent to talk to (``background=True`` keeps the chat
        responsive while memory updates).
    :param call_soon: how to run a refresh on the widgets' thread; by default
        the running event loop of the kernel, or at once when there is none.
    """

    def __init__(self, agent: WorkerAgent, *, call_soon: Scheduler | None = None) -> None:
        if not isinstance(agent, WorkerAgent):
            raise TypeError(f"agent must be a WorkerAgent, not {type(agent).__name__}")
        self.agent = agent
        self.lines: list[ChatLine] = []
        self._call_soon = call_soon or _main_thread_scheduler()
        self._watcher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="memkit-chat")
        self._answerer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="memkit-answer")
        self._watching: list[Future[None]] = []
        self._answering: list[Future[ChatLine]] = []
        self.thinking = False
        self.failure: str | None = None
        self._lock = threading.Lock()
        self.transcript = widgets.HTML(layout=widgets.Layout(width="100%"))
        self.input = widgets.Text(
            placeholder="Type a message and press Enter",
            continuous_update=False,
            layout=widgets.Layout(flex="1 1 auto", width="auto"),
        )
        self.send_button = widgets.Button(description="Send", button_style="primary", layout={"width": "80px"})
        self.status = widgets.HTML()
        self.tables = {name: widgets.HTML(layout=widgets.Layout(width="100%")) for name in TAB_NAMES}
        self.tabs = widgets.Tab(
            children=list(self.tables.values()),
            layout=widgets.Layout(width="58%", max_height="480px", overflow="auto"),
        )
        self.input.observe(self._on_value, names="value")
        self.send_button.on_click(self._on_click)
        chat = widgets.VBox(
            [self.transcript, widgets.HBox([self.input, self.send_button]), self.status],
            layout=widgets.Layout(width="42%", padding="0 8px 0 0"),
        )
        super().__init__([chat, self.tabs], layout=widgets.Layout(width="100%"))
        self.add_class("memkit-chatbox")
        self._render_transcript()
        self.refresh()

    def __repr__(self) -> str:
        return f"ChatBox({len(self.lines)} messages, {self.agent.db.count_cells()} cells in memory)"

    # -- sending --------------------------------------------------------------

    def _on_value(self, change: dict[str, object]) -> None:
        text = change.get("new")
        if isinstance(text, str) and text.strip():
            self.input.value = ""
            self.submit(text)

    def _on_click(self, _button: object) -> None:
        text = self.input.value
        if text.strip():
            self.input.value = ""
            self.submit(text)

    def submit(self, text: str) -> Future[ChatLine]:
        """Send ``text`` without waiting (what pressing Enter does): the agent answers on a worker
        thread while the box shows "thinking…", so the page never freezes on a slow model."""
        self._ask(text)
        future = self._answerer.submit(self._reply, text.strip())
        with self._lock:
            self._answering.append(future)
        future.add_done_callback(lambda done: self._call_soon(lambda: self._show(done.result())))
        return future

    def send(self, text: str) -> str:
        """Send ``text`` as the user and wait for the reply; return it."""
        self._ask(text)
        line = self._reply(text.strip())
        self._show(line)
        return line.text

    def _ask(self, text: str) -> None:
        if not isinstance(text, str):
            raise TypeError(f"text must be a string, not {type(text).__name__}")
        self.lines.append(ChatLine("you", text.strip()))
        self.failure = None
        self.thinking = True
        self._render_transcript()

    def _reply(self, text: str) -> ChatLine:
        """The agent's reply, or the error line that takes its place."""
        try:
            return ChatLine("agent", self.agent.answer(text))
        except MemkitError as exc:
            return ChatLine("error", f"(no reply: {exc})")

    def _show(self, line: ChatLine) -> None:
        self.thinking = False
        self.lines.append(line)
        if line.speaker == "error":
            self._render_transcript()
            return
        self._render_transcript()
        self._render_recall()
        self._render_calls()
        if self.agent.background:
            self.status.value = "<i>memory: updating…</i>"
            with self._lock:
                self._watching.append(self._watcher.submit(self._await_update))
        else:
            self._check_update()
            self.refresh()

    def _check_update(self) -> None:
        """Wait for the agent's memory update; keep a failure for the status line."""
        try:
            self.agent.wait()
        except MemkitError as exc:
            self.failure = str(exc)

    def _await_update(self) -> None:
        """On the watcher thread: wait for the agent's memory update, then ask for a refresh."""
        self._check_update()
        self._call_soon(self.refresh)

    def wait(self, timeout: float | None = None) -> None:
        """Wait for every reply asked for and until memory has caught up, then refresh the tables."""
        with self._lock:
            answering, self._answering = self._answering, []
        for answer in answering:
            answer.result(timeout=timeout)
        with self._lock:
            watching, self._watching = self._watching, []
        for future in watching:
            future.result(timeout=timeout)
        self.refresh()

    def close(self) -> None:
        """Stop the watcher thread and close the widgets."""
        for pool in (getattr(self, "_answerer", None), getattr(self, "_watcher", None)):
            if pool is not None:  # absent if __init__ rejected its arguments
                pool.shutdown(wait=True)
        super().close()

    # -- rendering ------------------------------------------------------------

    def refresh(self) -> None:
        """Redraw every table from the database and the call log."""
        self._render_cells()
        self._render_scenes()
        self._render_recall()
        self._render_calls()
        db = self.agent.db
        cells, scenes = db.count_cells(), len(db.list_scenes())
        updating = " · updating…" if self.agent.updating else ""
        self.status.value = f"<i>memory: {cells} cells in {scenes} scenes{updating}</i>"
        if self.failure is not None:
            self.status.value += (
                f'<br><span style="color:#b00">memory update failed: {html.escape(self.failure)}</span>'
            )

    def _set_tab(self, name: str, count: int, value: str) -> None:
        self.tables[name].value = value
        self.tabs.set_title(TAB_NAMES.index(name), f"{name} ({count})")

    def _render_transcript(self) -> None:
        colours = {"you": "#e8f0fe", "agent": "#f1f3f4", "error": "#fde8e8"}
        bubbles = (
            "".join(
                f'<div class="memkit-line memkit-{line.speaker}" style="background:{colours[line.speaker]};'
                f'border-radius:8px;margin:4px 0;padding:4px 8px"><b>{line.speaker}:</b> {html.escape(line.text)}</div>'
                for line in self.lines
            )
            or '<div style="color:#888"><i>Say something to the agent.</i></div>'
        )
        if self.thinking:
            bubbles += '<div class="memkit-thinking" style="color:#888;margin:4px 0"><i>agent: thinking…</i></div>'
        self.transcript.value = (
            '<div style="max-height:380px;overflow-y:auto;display:flex;flex-direction:column-reverse">'
            f"<div>{bubbles}</div></div>"
        )

    def _render_cells(self) -> None:
        db = self.agent.db
        cells = db.list_cells()
        rows = [(c.id, c.scene, c.cell_type, c.salience, c.content) for c in reversed(cells[-MAX_ROWS:])]
        table = html_table(("id", "scene", "type", "salience", "content"), rows, empty="no memory cells yet")
        self._set_tab("Cells", len(cells), table)

    def _render_scenes(self) -> None:
        scenes = self.agent.db.list_scenes()
        rows = [(s.scene, s.current_count, s.summary) for s in scenes[:MAX_ROWS]]
        self._set_tab("Scenes", len(scenes), html_table(("scene", "cells", "summary"), rows, empty="no scenes yet"))

    def _render_recall(self) -> None:
        recall = self.agent.last_recall
        if recall is None:
            self._set_tab("Recalled", 0, html_table((), (), empty="nothing recalled yet: send a message"))
            return
        rows = [
            (h.score, "yes" if h.matched else "no (fallback)", h.scene, h.cell_type, h.content) for h in recall.hits
        ]
        table = html_table(("score", "matched", "scene", "type", "content"), rows, empty="memory was empty")
        matched = sum(1 for h in recall.hits if h.matched)
        no_summary = "none given: no recalled cell matched" if recall.hits and not matched else "none given"
        summaries = html_table(
            ("scene", "summary given to the model"), [(s.scene, s.summary) for s in recall.scenes], empty=no_summary
        )
        query = f"<p>For <b>{html.escape(recall.query)}</b>:</p>"
        if recall.hits and not matched:
            query += (
                "<p><i>Nothing in memory matched these words. Shown instead: the most salient cells, "
                "which the model is given as background (matched: no).</i></p>"
            )
        self._set_tab("Recalled", len(recall.hits), query + table + "<p><b>Scene summaries</b></p>" + summaries)

    def _render_calls(self) -> None:
        calls = self.agent.calls
        rows = [
            (
                number,
                call.task,
                call.backend,
                call.model or "",
                call.json_mode or "",
                call.finish_reason or "",
                call.prompt_tokens,
                call.response_tokens,
                _server_tokens(call.server_prompt_tokens, call.server_response_tokens),
                f"{call.duration_s * 1000:.0f}",
                call.error or "",
                call.response[:300],
            )
            for number, call in reversed(list(enumerate(calls, 1))[-MAX_ROWS:])
        ]
        headers = (
            "#",
            "task",
            "backend",
            "model",
            "JSON mode",
            "finish",
            "prompt tokens",
            "reply tokens",
            "server tokens",
            "ms",
            "error",
            "reply",
        )
        self._set_tab("LLM calls", len(calls), html_table(headers, rows, empty="no model calls yet"))


def _server_tokens(prompt: int | None, reply: int | None) -> str:
    """The server's own token counts, prompt + reply, when it gave them."""
    if prompt is None and reply is None:
        return ""
    return f"{'?' if prompt is None else prompt} + {'?' if reply is None else reply}"
