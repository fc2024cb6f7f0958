"""frame_room.py: a roomy frame keeps deep, oscillating recursion from mapping memory.

Each test runs in a thread of its own, whose frame stack starts empty: where the
chunks' edges fall does not depend on how deep pytest itself is."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from make_book.frame_room import CHUNKED_FRAMES, call_with_room

resource = pytest.importorskip("resource")  # page faults, counted per thread (Linux)
needs_chunked_frames = pytest.mark.skipif(
    not CHUNKED_FRAMES or not hasattr(resource, "RUSAGE_THREAD"),
    reason="frames are not kept in mapped chunks here, or faults are not counted per thread",
)


def _down(depth: int) -> int:
    return _down(depth - 1) + 1 if depth else 0


def _oscillate() -> int:
    """Recurse to every depth up to 300 frames (tens of KB of frame stack), again and
    again: the recursion crosses a chunk's edge each time, as WeasyPrint's does."""
    return sum(_down(turn % 300) for turn in range(6_000))


def _page_faults_in_thread(run: Callable[[], object]) -> int:
    counted: list[int] = []

    def counting() -> None:
        before = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
        run()
        counted.append(resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - before)

    thread = threading.Thread(target=counting)
    thread.start()
    thread.join()
    return counted[0]


@needs_chunked_frames
def test_oscillating_recursion_maps_memory_without_room() -> None:
    """The interpreter's behaviour frame_room.py works around: each crossing of a chunk's
    edge maps a fresh chunk, whose first touch is a page fault. An interpreter that keeps
    a spare chunk per thread does not: the room is needless there, and this skips."""
    faults = _page_faults_in_thread(_oscillate)
    if faults < 100:
        pytest.skip(f"this interpreter keeps its chunks ({faults} faults): no room needed")
    assert faults > 1_000


@needs_chunked_frames
def test_a_roomy_frame_keeps_the_recursion_in_one_chunk() -> None:
    assert _page_faults_in_thread(lambda: call_with_room(_oscillate)) < 200


def test_the_call_is_a_plain_one_otherwise() -> None:
    assert call_with_room(_down, 50) == 50
    assert call_with_room(dict, a=1) == {"a": 1}
    with pytest.raises(ZeroDivisionError):
        call_with_room(lambda: 1 / 0)


@needs_chunked_frames
def test_the_room_is_in_the_frame_not_in_a_patch() -> None:
    """The frame that calls declares the room; the function it was copied from does not."""
    from make_book import frame_room

    roomy = frame_room._ROOMY_CALL.__code__
    plain = frame_room._call.__code__
    assert roomy.co_stacksize == plain.co_stacksize + frame_room.EXTRA_SLOTS
    assert roomy.co_code == plain.co_code
    assert roomy.co_name == "call_with_room"  # as a traceback names it
