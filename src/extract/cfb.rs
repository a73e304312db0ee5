//! Just enough of the OLE compound file format (CFB) to list stream names: tells
//! doc / xls / ppt / msg apart and spots encrypted Office files (an `EncryptedPackage`
//! stream, or the Word FIB's fEncrypted bit). Every read is bounds-checked and every
//! chain walk is capped, so hostile files cannot loop or panic.

pub const MAGIC: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

const END_OF_CHAIN: u32 = 0xFFFF_FFFE;
/// Directory sectors walked at most (4096 × 4 entries is far beyond real files).
const MAX_DIR_SECTORS: usize = 4096;

/// A stream or storage in the compound file.
pub struct Entry {
    pub name: String,
    pub start: u32,
    pub size: u64,
    /// Directory ids of the red-black tree: siblings and first child (NOSTREAM = none).
    left: u32,
    right: u32,
    child: u32,
}

/// "No entry" in the directory tree.
const NOSTREAM: u32 = 0xFFFF_FFFF;

fn u16_at(b: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(off..off + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(off..off + 4)?.try_into().ok()?))
}

struct Cfb<'a> {
    bytes: &'a [u8],
    sector_size: usize,
    fat_sectors: Vec<u32>,
}

impl<'a> Cfb<'a> {
    fn sector(&self, s: u32) -> Option<&'a [u8]> {
        let start = (s as usize).checked_add(1)?.checked_mul(self.sector_size)?;
        self.bytes.get(start..start.checked_add(self.sector_size)?)
    }

    fn next(&self, s: u32) -> Option<u32> {
        let per = self.sector_size / 4;
        let fat = *self.fat_sectors.get(s as usize / per)?;
        u32_at(self.sector(fat)?, (s as usize % per) * 4)
    }
}

fn open(bytes: &[u8]) -> Option<Cfb<'_>> {
    if !bytes.starts_with(MAGIC) {
        return None;
    }
    let shift = u16_at(bytes, 0x1E)?;
    if !(7..=16).contains(&shift) {
        return None;
    }
    let sector_size = 1usize << shift;
    let mut fat_sectors = Vec::new();
    for i in 0..109 {
        match u32_at(bytes, 0x4C + i * 4)? {
            s if s >= 0xFFFF_FFFA => {}
            s => fat_sectors.push(s),
        }
    }
    let mut cfb = Cfb {
        bytes,
        sector_size,
        fat_sectors,
    };
    // DIFAT chain for files with more than 109 FAT sectors.
    let mut difat = u32_at(bytes, 0x44)?;
    let mut guard = 0;
    while difat < 0xFFFF_FFFA && guard < 1024 {
        guard += 1;
        let Some(sec) = cfb.sector(difat) else { break };
        let per = sector_size / 4;
        for i in 0..per.saturating_sub(1) {
            if let Some(s) = u32_at(sec, i * 4) {
                if s < 0xFFFF_FFFA {
                    cfb.fat_sectors.push(s);
                }
            }
        }
        difat = u32_at(sec, (per - 1) * 4).unwrap_or(END_OF_CHAIN);
    }
    Some(cfb)
}

/// Every directory entry of an OLE file; None when the bytes are not a readable CFB.
pub fn entries(bytes: &[u8]) -> Option<Vec<Entry>> {
    let cfb = open(bytes)?;
    let mut out = Vec::new();
    let mut s = u32_at(bytes, 0x30)?;
    let mut seen = 0;
    while s != END_OF_CHAIN && seen < MAX_DIR_SECTORS {
        seen += 1;
        let Some(sec) = cfb.sector(s) else { break };
        for chunk in sec.chunks_exact(128) {
            let name_len = usize::from(u16_at(chunk, 0x40).unwrap_or(0)).min(64);
            let kind = chunk.get(0x42).copied().unwrap_or(0);
            if kind == 0 || name_len < 2 {
                // Kept as a placeholder: tree links are directory indexes.
                out.push(Entry {
                    name: String::new(),
                    start: END_OF_CHAIN,
                    size: 0,
                    left: NOSTREAM,
                    right: NOSTREAM,
                    child: NOSTREAM,
                });
                continue;
            }
            let units: Vec<u16> = chunk
                .get(..name_len - 2)
                .unwrap_or_default()
                .chunks_exact(2)
                .map(|p| u16::from_le_bytes([p[0], p.get(1).copied().unwrap_or(0)]))
                .collect();
            out.push(Entry {
                name: String::from_utf16_lossy(&units),
                start: u32_at(chunk, 0x74).unwrap_or(END_OF_CHAIN),
                size: u64::from(u32_at(chunk, 0x78).unwrap_or(0)),
                left: u32_at(chunk, 0x44).unwrap_or(NOSTREAM),
                right: u32_at(chunk, 0x48).unwrap_or(NOSTREAM),
                child: u32_at(chunk, 0x4C).unwrap_or(NOSTREAM),
            });
        }
        match cfb.next(s) {
            Some(n) => s = n,
            None => break,
        }
    }
    Some(out)
}

/// Names of the entries directly under the root storage (the file's own streams, not
/// those of an embedded object's storage): the root's child and its siblings. Walk
/// bounded by the entry count, so a looping tree ends.
pub fn top_level(entries: &[Entry]) -> Vec<&str> {
    let mut out = Vec::new();
    let Some(root) = entries.first() else {
        return out;
    };
    let mut stack = vec![root.child];
    let mut seen = vec![false; entries.len()];
    while let Some(id) = stack.pop() {
        let Some(e) = entries.get(id as usize) else {
            continue;
        };
        if std::mem::replace(&mut seen[id as usize], true) {
            continue;
        }
        if !e.name.is_empty() {
            out.push(e.name.as_str());
        }
        stack.push(e.left);
        stack.push(e.right);
    }
    out
}

/// True for password-protected Office files: OOXML wrapped in an `EncryptedPackage`
/// stream, or a Word 97 document whose FIB has fEncrypted set.
pub fn is_encrypted(bytes: &[u8], entries: &[Entry]) -> bool {
    if entries
        .iter()
        .any(|e| e.name == "EncryptedPackage" || e.name == "\u{6}DataSpaces")
    {
        return true;
    }
    // WordDocument is never in the mini stream (it is always ≥ 4096 bytes), so its
    // first sector is at a fixed place. FIB flags at offset 0x0A, fEncrypted = 0x0100.
    let Some(cfb) = open(bytes) else { return false };
    entries
        .iter()
        .find(|e| e.name == "WordDocument" && e.size >= 4096)
        .and_then(|e| cfb.sector(e.start))
        .and_then(|sec| u16_at(sec, 0x0A))
        .is_some_and(|flags| flags & 0x0100 != 0)
}
