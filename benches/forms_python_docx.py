#!/usr/bin/env python3
"""Baseline for benches/forms.rs: reads the same cells with python-docx.

Usage: forms_python_docx.py N FILE...  — prints one line per file:
  <file>\t<mean seconds per parse>
Timing is inside this program's loop (interpreter start and imports excluded): each
parse opens the document and reads every paragraph and every table cell's text."""
import sys
import time

import docx


def read(path):
    d = docx.Document(path)
    out = [p.text for p in d.paragraphs]
    for t in d.tables:
        for row in t.rows:
            for cell in row.cells:
                out.append(cell.text)
    return out


def main():
    n = int(sys.argv[1])
    for path in sys.argv[2:]:
        read(path)  # warm-up, as the Rust side does
        start = time.perf_counter()
        for _ in range(n):
            read(path)
        print("%s\t%.9f" % (path, (time.perf_counter() - start) / n))


if __name__ == "__main__":
    main()
