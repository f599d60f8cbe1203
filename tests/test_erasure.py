"""memkit.erasure: a message erased leaves no trace in any table, the history or the file's bytes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import memkit
from memkit.erasure import erase_message, traces
from memkit.history import undo

COURSE = memkit.load_course_conversation()


def _memory(path: str | Path = ":memory:", messages: int = 12) -> memkit.MemoryDB:
    db = memkit.MemoryDB(path)
    memkit.MemoryManager(db, "offline").ingest(COURSE.messages[:messages], progress=False)
    return db


@pytest.fixture
def memory() -> Iterator[memkit.MemoryDB]:
    db = _memory()
    yield db
    db.close()


def _from(db: memkit.MemoryDB, source_id: str) -> list[memkit.Cell]:
    return [cell for cell in db.list_cells(include_history=True) if cell.source_id == source_id]


def test_an_erased_message_leaves_no_trace_in_memory(memory: memkit.MemoryDB) -> None:
    message = COURSE.messages[2]
    erased = _from(memory, message.source_id)
    assert erased and traces(memory, message.text)  # the log, contexts, history and a summary hold it
    result = erase_message(memory, message.source_id)
    assert result.cells == tuple(cell.id for cell in erased) and result.exchanges and not result.compacted
    assert traces(memory, message.text) == []
    assert all(traces(memory, cell.content) == [] for cell in erased)
    assert _from(memory, message.source_id) == []
    assert memory.check_integrity() == []


def test_the_other_messages_stay_and_an_erasure_is_not_undone(memory: memkit.MemoryDB) -> None:
    message = COURSE.messages[2]
    others = {cell.id: cell.content for cell in memory.list_cells(include_history=True)}
    erased = {cell.id for cell in _from(memory, message.source_id)}
    erase_message(memory, message.source_id)
    kept = {cell.id: cell.content for cell in memory.list_cells(include_history=True)}
    assert kept == {i: content for i, content in others.items() if i not in erased}
    while undo(memory):
        pass
    assert _from(memory, message.source_id) == []
    assert traces(memory, message.text) == []


def test_delete_cell_is_not_erasure(memory: memkit.MemoryDB) -> None:
    [first, *_] = _from(memory, COURSE.messages[2].source_id)
    memory.delete_cell(first.id)
    assert traces(memory, first.content)  # kept in the history
    undo(memory)
    assert memory.get_cell(first.id) == first


def test_an_erased_message_is_not_in_the_files_bytes(tmp_path: Path) -> None:
    path = tmp_path / "memory.db"
    db = _memory(path)
    message = COURSE.messages[2]
    contents = [cell.content for cell in _from(db, message.source_id)]
    assert message.text.encode() in path.read_bytes() + Path(f"{path}-wal").read_bytes()
    assert erase_message(db, message.source_id).compacted
    db.add_cell(scene="notes", cell_type="fact", salience=0.5, content="Memory still takes new cells.")
    db.close()
    files = b"".join(f.read_bytes() for f in tmp_path.iterdir())
    assert all(text.encode() not in files for text in [message.text, *contents])
    with memkit.MemoryDB(path) as reopened:
        assert reopened.check_integrity() == [] and reopened.count_cells() > 0


def test_erasing_a_message_memory_never_saw_says_so(memory: memkit.MemoryDB) -> None:
    with pytest.raises(memkit.MemkitError, match="nothing in namespace 'default' comes from message 'm99'"):
        erase_message(memory, "m99")
    with pytest.raises(ValueError, match="must not be empty"):
        traces(memory, "")
