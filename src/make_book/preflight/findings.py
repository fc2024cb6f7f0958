"""What the preflight reports: a Finding (rule, sentence, page), and the collapsing of a
problem repeated on many pages into one finding that names them all.
"""

from __future__ import annotations

from dataclasses import dataclass

Problem = tuple[str, str]  # (rule, message), before the page number is attached


@dataclass(frozen=True)
class Finding:
    """One way the file breaks the profile: a rule id, a sentence, and the page if any."""

    rule: str
    message: str
    page: int | None = None  # 1-based; the first page when the message lists more

    def __str__(self) -> str:
        return f"page {self.page}: {self.message}" if self.page is not None else self.message


def collapse(findings: list[Finding]) -> list[Finding]:
    """One finding per (rule, message), naming its other pages; the file first, then by page."""
    pages: dict[Problem, list[int]] = {}
    for finding in findings:
        on = pages.setdefault((finding.rule, finding.message), [])
        if finding.page is not None and finding.page not in on:
            on.append(finding.page)
    collapsed = []
    for (rule, message), on in pages.items():
        if len(on) > 1:
            message = f"{message} (also on {_page_ranges(on[1:])})"
        collapsed.append(Finding(rule, message, on[0] if on else None))
    return sorted(collapsed, key=lambda f: 0 if f.page is None else f.page)


def _page_ranges(pages: list[int]) -> str:
    """[2, 3, 4, 7] -> "pages 2-4, 7"."""
    runs: list[list[int]] = []
    for page in sorted(pages):
        if runs and page == runs[-1][-1] + 1:
            runs[-1].append(page)
        else:
            runs.append([page])
    text = ", ".join(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]) for run in runs)
    return f"page {text}" if len(pages) == 1 else f"pages {text}"
