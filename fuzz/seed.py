#!/usr/bin/env python3
"""Builds the seed corpora of the docx and sheet fuzz targets from the golden form
fixtures, with the mode byte each target expects in front (see the targets' docs).
Run from anywhere; writes fuzz/corpus/{docx,sheet}/ (git-ignored)."""
import pathlib
import zipfile

root = pathlib.Path(__file__).resolve().parent
forms = root.parent / "fixtures" / "forms"
docx_dir = root / "corpus" / "docx"
sheet_dir = root / "corpus" / "sheet"
docx_dir.mkdir(parents=True, exist_ok=True)
sheet_dir.mkdir(parents=True, exist_ok=True)

# Every form file, the known-corrupt ones under corrupt/ included (good starting points).
for f in sorted(p for p in forms.rglob("*") if p.is_file()):
    data = f.read_bytes()
    if f.suffix == ".docx":
        (docx_dir / f"{f.stem}.whole").write_bytes(b"\x00" + data)
        try:
            with zipfile.ZipFile(f) as z:
                xml = z.read("word/document.xml")
        except (zipfile.BadZipFile, KeyError):
            continue
        (docx_dir / f"{f.stem}.xml").write_bytes(b"\x01" + xml)
    elif f.suffix == ".xlsx":
        (sheet_dir / f.stem).write_bytes(b"\x00" + data)
    elif f.suffix == ".xls":
        (sheet_dir / f.stem).write_bytes(b"\x01" + data)
    elif f.suffix == ".xlsb":
        (sheet_dir / f.stem).write_bytes(b"\x02" + data)
print(f"docx seeds: {len(list(docx_dir.iterdir()))}, sheet seeds: {len(list(sheet_dir.iterdir()))}")
