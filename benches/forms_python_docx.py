#!/usr/bin/env python3
"""Baseline for benches/forms.rs: reads the same cells with python-docx.

Usage: forms_python_docx.py N FILE...  — prints one line per file:
  <file>\t<mean seconds per parse>\t<median seconds per parse>
Timing is inside this program's loop (interpreter start and imports excluded): each
parse opens the document and reads every paragraph and every table cell's text. The
median is what the Rust side compares with: on a shared machine it is the figure
least moved by other processes taking the CPU."""
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
        times = []
        for _ in range(n):
            start = time.perf_counter()
            read(path)
            times.append(time.perf_counter() - start)
        times.sort()
        print("%s\t%.9f\t%.9f" % (path, sum(times) / n, times[n // 2]))


if __name__ == "__main__":
    main()
