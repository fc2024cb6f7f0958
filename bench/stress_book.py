"""Write a stress anthology: about 300 essays, about 1,000 pages at 6 x 9 in, with footnotes.

The text is Montaigne's (Cotton's translation, public domain), from the example book
in examples/montaigne: each essay takes a window of paragraphs from one of its
chapters, and a footnote about every 250 words. The output is deterministic, so two
runs of the benchmark lay out the same book.

    python bench/stress_book.py OUT_FOLDER [--essays 300] [--words 760]
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "montaigne" / "chapters"
NOTE_REF = re.compile(r"\[\^\d+\]")


def paragraphs() -> list[str]:
    """Every prose paragraph of the example book, without its note calls."""
    found = []
    for chapter in sorted(EXAMPLE.glob("*.md")):
        body = chapter.read_text("utf-8").split("---", 2)[2]
        for block in body.split("\n\n"):
            block = block.strip()
            if not block.startswith(("[^", ":::", "#", ">")) and len(block) > 200:
                found.append(NOTE_REF.sub("", block))
    return found


def essay(number: int, source: list[str], words: int) -> str:
    """One essay of about `words` words, a footnote about every 250."""
    chosen: list[str] = []
    count, index = 0, (number * 7) % len(source)
    while count < words:
        chosen.append(source[index % len(source)])
        count += len(chosen[-1].split())
        index += 1
    notes, body = [], []
    for paragraph in chosen:
        sentences = paragraph.split(". ")
        for cut in range(1, len(sentences), 3):  # a call after every third sentence
            notes.append(sentences[cut - 1][:160].strip(" .") + ".")
            sentences[cut - 1] += f"[^{len(notes)}]"
        body.append(". ".join(sentences))
    title = f"Essay {number + 1}: " + " ".join(chosen[0].split()[:4]).strip(",;:")
    front = f'---\ntitle: "{title.replace(chr(34), "")}"\nauthor: Michel de Montaigne\n---\n\n'
    note_text = "\n".join(f"[^{n}]: Compare: {text}" for n, text in enumerate(notes, 1))
    return front + "\n\n".join(body) + "\n\n" + note_text + "\n"


def write_book(out: Path, essays: int = 300, words: int = 760) -> Path:
    """The book's folder with book.yaml and chapters/; returns book.yaml's path."""
    (out / "chapters").mkdir(parents=True, exist_ok=True)
    source = paragraphs()
    names = []
    for number in range(essays):
        name = f"chapters/essay-{number + 1:03}.md"
        (out / name).write_text(essay(number, source, words), "utf-8")
        names.append(name)
    return write_manifest(out, names, "A Thousand Pages", "A stress anthology")


def write_manifest(out: Path, names: list[str], title: str, subtitle: str) -> Path:
    """book.yaml for the essays `names`, in parts of 50; returns its path."""
    parts = [names[i : i + 50] for i in range(0, len(names), 50)]
    contents = "".join(
        f'  - part: "Book {n}"\n    chapters:\n' + "".join(f"      - {c}\n" for c in chapters)
        for n, chapters in enumerate(parts, 1)
    )
    manifest = out / "book.yaml"
    manifest.write_text(
        f'title: "{title}"\nsubtitle: "{subtitle}"\n'
        'author: Michel de Montaigne\nlanguage: en\ndate: "2026"\n'
        "pdf:\n  trim: 6x9in\n"
        "contents:\n" + contents,
        "utf-8",
    )
    return manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--essays", type=int, default=300)
    parser.add_argument("--words", type=int, default=760)
    args = parser.parse_args()
    print(write_book(args.out, args.essays, args.words))


if __name__ == "__main__":
    main()
