"""``benchmarks/RESULTS.md`` is shared by several benchmark scripts: each owns one section.

A section sits between ``<!-- name: begin -->`` and ``<!-- name: end -->``.  Writing a
section replaces that section only (or adds it: at the top with ``first=True``, else at
the end), so re-running one benchmark never drops another's figures.
"""
import re
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def markers(name):
    return f"<!-- {name}: begin -->", f"<!-- {name}: end -->"


def write_section(name, text, first=False, path=RESULTS):
    """Put ``text`` in the section ``name`` of ``path`` (created if missing); returns the path."""
    begin, end = markers(name)
    section = f"{begin}\n{text.strip()}\n{end}"
    content = path.read_text() if path.exists() else ""
    pattern = re.escape(begin) + ".*?" + re.escape(end)
    if re.search(pattern, content, flags=re.S):
        content = re.sub(pattern, lambda _: section, content, count=1, flags=re.S)
    elif first:
        content = section + "\n\n" + content.lstrip("\n")
    else:
        content = content.rstrip("\n") + "\n\n" + section
    path.write_text(content.rstrip("\n") + "\n")
    return path
