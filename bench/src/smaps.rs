//! Where a process's resident memory lies, from `/proc/<pid>/smaps`: the main heap
//! (`[heap]`, glibc's main arena), other anonymous memory (the worker threads' malloc
//! arenas, large allocations glibc maps on their own, thread stacks), SQLite's
//! mapped files (the WAL index `-shm`, a mapped database), the kepu-intake binary's
//! own pages and other files (libraries). SQLite's page caches live in the heap and the arenas; the
//! daemon logs their size itself (`sqlite_kib` on its "processed" lines).

use std::io;
use std::path::Path;

/// Resident KiB by kind of mapping.
#[derive(Clone, Copy, Default)]
pub struct Split {
    pub heap: u64,
    pub anon: u64,
    pub sqlite_files: u64,
    /// The kepu-intake binary's own pages (its code, read as it runs).
    pub binary: u64,
    pub files: u64,
}

/// The split of `pid`'s resident set.
pub fn split(pid: u32) -> io::Result<Split> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps"))?;
    Ok(parse(&text))
}

/// Sums the `Rss:` lines of each mapping into its kind.
fn parse(text: &str) -> Split {
    let mut out = Split::default();
    let mut kind = Kind::Anon;
    for line in text.lines() {
        if let Some(kib) = line.strip_prefix("Rss:") {
            let kib: u64 = kib
                .split_whitespace()
                .next()
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            match kind {
                Kind::Heap => out.heap += kib,
                Kind::Anon => out.anon += kib,
                Kind::SqliteFile => out.sqlite_files += kib,
                Kind::Binary => out.binary += kib,
                Kind::File => out.files += kib,
            }
        } else if is_header(line) {
            kind = classify(line);
        }
    }
    out
}

enum Kind {
    Heap,
    Anon,
    SqliteFile,
    Binary,
    File,
}

/// A mapping's header: `start-end perms offset dev inode [path]`.
fn is_header(line: &str) -> bool {
    line.split_whitespace()
        .next()
        .is_some_and(|range| range.contains('-') && !range.ends_with(':'))
}

fn classify(header: &str) -> Kind {
    let path = header.split_whitespace().nth(5).unwrap_or("");
    if path == "[heap]" {
        Kind::Heap
    } else if path.is_empty() || path.starts_with('[') {
        Kind::Anon
    } else if [".db", "-shm", "-wal"]
        .iter()
        .any(|end| path.ends_with(end))
    {
        Kind::SqliteFile
    } else if path
        .rsplit('/')
        .next()
        .is_some_and(|n| n.starts_with("kepu-intake"))
    {
        Kind::Binary
    } else {
        Kind::File
    }
}

/// The last `sqlite_kib` the daemon logged, if any.
pub fn logged_sqlite_kib(log: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(log).ok()?;
    text.lines().rev().find_map(|l| {
        // Plain (`sqlite_kib=12`) or JSON (`"sqlite_kib":12`) log lines.
        let at = ["sqlite_kib=", "\"sqlite_kib\":"]
            .iter()
            .find_map(|key| l.find(key).map(|i| i + key.len()))?;
        l[at..]
            .split(|c: char| !c.is_ascii_digit())
            .next()?
            .parse()
            .ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mappings_are_summed_by_kind() {
        let text = "\
55d0-55e0 rw-p 00000000 00:00 0                          [heap]
Rss:                 100 kB
7f00-7f10 rw-p 00000000 00:00 0 
Rss:                  40 kB
7f10-7f20 rw-s 00000000 08:01 1234                       /tmp/ks/data/intake.db-shm
Rss:                  32 kB
7f20-7f30 r-xp 00000000 08:01 99                         /usr/lib/libc.so.6
Rss:                   8 kB
7f30-7f40 r-xp 00000000 08:01 98                         /work/target/release/kepu-intake
Rss:                   4 kB
Anonymous:             0 kB
";
        let s = parse(text);
        assert_eq!(
            (s.heap, s.anon, s.sqlite_files, s.binary, s.files),
            (100, 40, 32, 4, 8)
        );
    }
}
