"""Write a stress anthology that varies as real ones do: 300 essays, about 1,800 pages.

The synthetic stress book (stress_book.py) has 300 essays alike: ~760 words each, a
short note every few sentences, no verse, no warnings. Real anthologies are uneven, and
this one is too, built from the Montaigne example's chapters (Cotton's translation, public
domain) as they are written, verse, block quotes and notes included:

- essay lengths from about 300 to 16,000 words: most 300 to 2,000, one in twenty
  5,000 to 16,000; each a run of whole blocks from one chapter onwards;
- long notes: about one essay in four gets a note of 200 to 600 words;
- a few words in other scripts: polytonic Greek (ὕβρις, ψυχή), Cyrillic, Hebrew, CJK;
- characters that warn: Standard Ebooks' ⸺ and ⸻ for elided names, in one essay in
  ten, and CJK, which the book's face lacks.

The draw is seeded: two runs write the same book.

    python bench/real_stress_book.py OUT_FOLDER [--essays 300] [--seed 1]
"""

from __future__ import annotations

import argparse
import math
import random
import re
from pathlib import Path

from stress_book import write_manifest  # a sibling script

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "montaigne" / "chapters"
NOTE_CALL = re.compile(r"\[\^([^\]]+)\]")
NOTE_TEXT = re.compile(r"^\[\^([^\]]+)\]:\s?(.*)$")
OTHER_SCRIPTS = [
    "the Greeks’ ὕβρις",
    "what they called ψυχή",
    "the Russian word правда",
    "the Hebrew שָׁלוֹם",
    "a line of Du Fu, 國破山河在",
    "the Japanese 物の哀れ",
]
ELIDED = ["Monsieur de ⸺", "the Duke of ⸻", "Madame ⸺, whom I will not name"]


def blocks() -> list[tuple[str, list[str]]]:
    """Every block of every chapter (a paragraph, a verse container, a quotation), each
    with the texts of the notes it calls, in reading order."""
    found: list[tuple[str, list[str]]] = []
    for chapter in sorted(EXAMPLE.glob("*.md")):
        body = chapter.read_text("utf-8").split("---", 2)[2]
        notes = {m[1]: m[2] for line in body.splitlines() if (m := NOTE_TEXT.match(line))}
        for block in _blocks_of(body):
            if block.startswith(("#", "[^")):
                continue
            called = [notes.get(name, "") for name in NOTE_CALL.findall(block)]
            found.append((NOTE_CALL.sub("", block), called))
    return found


def _blocks_of(body: str) -> list[str]:
    """The body's blocks, a `::: verse` container kept whole."""
    out: list[str] = []
    verse: list[str] = []
    for block in body.split("\n\n"):
        block = block.strip()
        if verse or block.startswith(":::"):
            verse.append(block)
            if block.endswith(":::") and (len(verse) > 1 or block.count(":::") > 1):
                out.append("\n\n".join(verse))
                verse = []
        elif block:
            out.append(block)
    return out


def essay_length(draw: random.Random) -> int:
    """Words: most essays 300 to 2,000 (log-uniform), one in twenty 5,000 to 16,000."""
    if draw.random() < 0.05:
        return draw.randint(5_000, 16_000)
    return int(math.exp(draw.uniform(math.log(300), math.log(2_000))))


def essay(number: int, source: list[tuple[str, list[str]]], draw: random.Random) -> str:
    wanted = essay_length(draw)
    body: list[str] = []
    notes: list[str] = []
    index, words = draw.randrange(len(source)), 0
    while words < wanted:
        text, called = source[index % len(source)]
        calls = ""
        for note in called:
            if note:
                notes.append(note)
                calls += f"[^{len(notes)}]"
        body.append(_with_calls(text, calls))
        words += len(text.split())
        index += 1
    _season(body, notes, number, draw)
    opening = next((b for b in body if not b.startswith((":::", ">"))), body[0])
    title = f"Essay {number + 1}: " + re.sub(r"[^\w’' -]", "", " ".join(opening.split()[:4]))
    front = f'---\ntitle: "{title.replace(chr(34), "")}"\nauthor: Michel de Montaigne\n---\n\n'
    note_text = "\n".join(f"[^{n}]: {text}" for n, text in enumerate(notes, 1))
    return front + "\n\n".join(body) + ("\n\n" + note_text if notes else "") + "\n"


def _with_calls(block: str, calls: str) -> str:
    """The block with its note calls at its end: inside a verse container, before its
    closing fence (after it, the fence would not close)."""
    if block.startswith(":::") and block.endswith("\n:::"):
        return block[: -len("\n:::")] + calls + "\n:::"
    return block + calls


def _season(body: list[str], notes: list[str], number: int, draw: random.Random) -> None:
    """What real essays have besides prose: a long note, other scripts, elided names."""
    prose = [i for i, block in enumerate(body) if not block.startswith((":::", ">"))]
    if not prose:
        return
    if number % 4 == 1:  # a long note
        long_note = " ".join(body[i] for i in prose[:3])
        long_note = " ".join(long_note.split()[: draw.randint(200, 600)])
        notes.append(long_note)
        body[prose[0]] += f"[^{len(notes)}]"
    if number % 3 == 0:
        body[draw.choice(prose)] += f" As with {draw.choice(OTHER_SCRIPTS)}, so here."
    if number % 10 == 7:
        body[draw.choice(prose)] += f" So it went with {draw.choice(ELIDED)}."


def write_book(out: Path, essays: int = 300, seed: int = 1) -> Path:
    """The book's folder with book.yaml and chapters/; returns book.yaml's path."""
    (out / "chapters").mkdir(parents=True, exist_ok=True)
    draw, source, names = random.Random(seed), blocks(), []
    for number in range(essays):
        name = f"chapters/essay-{number + 1:03}.md"
        (out / name).write_text(essay(number, source, draw), "utf-8")
        names.append(name)
    return write_manifest(out, names, "Uneven Pages", "A stress anthology as real ones are")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--essays", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(write_book(args.out, args.essays, args.seed))


if __name__ == "__main__":
    main()
