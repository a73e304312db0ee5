//! The download of everything for the review meeting: a zip of the applications the
//! office accepted (审核 已受理, issue 19), with whatever files each has, one folder per unit,
//! `单位/附件N-表名-电子版.docx` and `…-盖章扫描件.jpg` (单位 as in the summary sheet).
//! Names are built from the call's titles and the unit's name, without characters a
//! file system refuses; two applications of one unit on one form get `-2`, `-3`.

use crate::call::Call;
use crate::error::{Error, Result};
use crate::report::dump::Dump;
use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;

/// `name` usable as one path component on Windows, macOS and Linux.
pub fn safe_component(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .filter(|c| !c.is_control())
        .map(|c| match c {
            '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' => '_',
            c => c,
        })
        .collect();
    let t: String = cleaned.trim().trim_matches('.').chars().take(60).collect();
    if t.is_empty() {
        "未命名".into()
    } else {
        t
    }
}

/// One file of the bundle: the path in the zip and the stored file (relative to the
/// data dir).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub stored: String,
}

/// The files of every accepted application, in 附件 order. Acceptance is the office's
/// decision: an application accepted without its scan brings its electronic form only,
/// and a complete one still waiting for review (or returned) is left out.
pub fn entries(call: &Call, dump: &Dump) -> Vec<Entry> {
    let docs: std::collections::HashMap<i64, &crate::report::dump::DumpDocument> = dump
        .messages
        .iter()
        .flat_map(|m| m.documents.iter())
        .map(|d| (d.id, d))
        .collect();
    let mut apps: Vec<_> = dump
        .applications
        .iter()
        .filter(|a| a.review.state == crate::domain::ReviewState::Accepted)
        .collect();
    apps.sort_by_key(|a| (call.form(&a.form).map(|f| f.number), a.id));
    // The folder is the summary's 单位: the unit for a unit's form, the work unit of a
    // person's (附件1).
    let units: std::collections::HashMap<i64, String> =
        super::summary::summary_rows(call, dump, &crate::roster::Roster::default())
            .into_iter()
            .map(|r| (r.application, r.unit))
            .collect();
    let mut used = BTreeSet::new();
    let mut out = Vec::new();
    for a in apps {
        let Some(form) = call.form(&a.form) else {
            continue;
        };
        let unit = safe_component(units.get(&a.id).unwrap_or(&a.applicant));
        let stem = format!("附件{}-{}", form.number, safe_component(&form.title));
        let mut n = 1;
        let base = loop {
            let b = if n == 1 {
                format!("{unit}/{stem}")
            } else {
                format!("{unit}/{stem}-{n}")
            };
            if used.insert(b.clone()) {
                break b;
            }
            n += 1;
        };
        for (id, what) in [(a.electronic, "电子版"), (a.scan, "盖章扫描件")] {
            if let Some(d) = id.and_then(|id| docs.get(&id)) {
                out.push(Entry {
                    name: format!("{base}-{what}.{}", d.format.as_str()),
                    stored: d.path.clone(),
                });
            }
        }
    }
    out
}

/// Writes the zip to `path`; returns the number of files in it. A stored file that is
/// missing is an error naming it (the bundle must not silently lack a form).
pub fn write_zip(call: &Call, dump: &Dump, data_dir: &Path, path: &Path) -> Result<usize> {
    let list = entries(call, dump);
    let tmp = path.with_extension("zip.tmp");
    let file = std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
    let mut z = zip::ZipWriter::new(std::io::BufWriter::new(file));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let zerr =
        |e: zip::result::ZipError| Error::Other(format!("写入压缩包失败 {}: {e}", path.display()));
    for e in &list {
        let src = data_dir.join(&e.stored);
        let bytes = std::fs::read(&src).map_err(|err| Error::io(&src, err))?;
        z.start_file(e.name.as_str(), opts).map_err(zerr)?;
        z.write_all(&bytes).map_err(|err| Error::io(&tmp, err))?;
    }
    let mut w = z.finish().map_err(zerr)?;
    w.flush().map_err(|err| Error::io(&tmp, err))?;
    drop(w);
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))?;
    Ok(list.len())
}
