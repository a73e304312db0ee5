//! Files that are one scan of one form: a form scanned page by page and sent as several
//! JPGs in one mail (`扫描件_1.jpg`, `扫描件_2.jpg`). Only page 1 carries the title,
//! the seal is often on the last page; matched one by one, page 1 would be "unstamped"
//! and page 2 would belong to nothing. A group is matched as one scan and stamped when
//! any of its pages is.

use std::cmp::Ordering;

/// What grouping looks at of one scan file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanFile<'a> {
    pub message: i64,
    /// File name as the sender gave it.
    pub name: &'a str,
    /// OCR found one of the call's form titles on it.
    pub titled: bool,
    /// OCR ran on it (without OCR a page without a title cannot be told).
    pub read: bool,
}

/// Groups `files` (indices into it, each group in page order, groups in the order of
/// their first file). A file joins the group before it when it came in the same mail,
/// its name follows the previous page's (`…_1` → `…_2`, `IMG_0007` → `IMG_0008`), OCR
/// read it and found no title on it, and the group began with a titled page.
pub fn groups(files: &[ScanFile<'_>]) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..files.len()).collect();
    order.sort_by(|&a, &b| {
        files[a]
            .message
            .cmp(&files[b].message)
            .then_with(|| natural_cmp(files[a].name, files[b].name))
            .then(a.cmp(&b))
    });
    let mut out: Vec<Vec<usize>> = Vec::new();
    for i in order {
        let f = &files[i];
        let joins = out.last().is_some_and(|g| {
            let (first, last) = (&files[g[0]], &files[g[g.len() - 1]]);
            first.titled
                && last.message == f.message
                && f.read
                && !f.titled
                && next_page(last.name, f.name)
        });
        match out.last_mut() {
            Some(g) if joins => g.push(i),
            _ => out.push(vec![i]),
        }
    }
    out.sort_by_key(|g| g[0]);
    out
}

/// Name without its extension.
fn stem(name: &str) -> &str {
    match name.rsplit_once('.') {
        Some((s, ext)) if !s.is_empty() && ext.len() <= 5 => s,
        _ => name,
    }
}

/// A name cut into runs of digits and runs of everything else.
fn tokens(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut digit = None;
    for (i, c) in s.char_indices() {
        let d = c.is_ascii_digit();
        if digit.is_some_and(|p| p != d) {
            out.push(&s[start..i]);
            start = i;
        }
        digit = Some(d);
    }
    if start < s.len() {
        out.push(&s[start..]);
    }
    out
}

fn number(t: &str) -> Option<u64> {
    t.chars()
        .all(|c| c.is_ascii_digit())
        .then(|| t.parse().ok())
        .flatten()
}

/// Whether `b` names the page after `a`: the same name but one number one higher
/// (`扫描件_1` → `扫描件_2`), or `a` with a page mark after it (`扫描件` → `扫描件(2)`).
pub fn next_page(a: &str, b: &str) -> bool {
    let (a, b) = (stem(a), stem(b));
    if let Some(rest) = b.strip_prefix(a) {
        let mark = rest.trim_matches(|c: char| " _-()（）第页p".contains(c));
        if !rest.is_empty() && number(mark) == Some(2) {
            return true;
        }
    }
    let (ta, tb) = (tokens(a), tokens(b));
    if ta.len() != tb.len() {
        return false;
    }
    let mut stepped = 0;
    for (x, y) in ta.iter().zip(&tb) {
        if x == y {
            continue;
        }
        match (number(x), number(y)) {
            (Some(p), Some(q)) if q == p + 1 => stepped += 1,
            _ => return false,
        }
    }
    stepped == 1
}

/// Orders names as people number pages: `扫描件_2` before `扫描件_10`.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (ta, tb) = (tokens(a), tokens(b));
    for (x, y) in ta.iter().zip(&tb) {
        let o = match (number(x), number(y)) {
            (Some(p), Some(q)) => p.cmp(&q).then(x.len().cmp(&y.len())),
            _ => x.cmp(y),
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    ta.len().cmp(&tb.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(message: i64, name: &str, titled: bool) -> ScanFile<'_> {
        ScanFile {
            message,
            name,
            titled,
            read: true,
        }
    }

    #[test]
    fn following_page_names() {
        assert!(next_page("扫描件0003_1.jpg", "扫描件0003_2.jpg"));
        assert!(next_page(
            "IMG_20220717_102294.jpg",
            "IMG_20220717_102295.jpg"
        ));
        assert!(next_page("盖章扫描件.jpg", "盖章扫描件(2).jpg"));
        assert!(next_page("盖章扫描件.jpg", "盖章扫描件_2.JPG"));
        assert!(!next_page("扫描件0003_1.jpg", "扫描件0003_3.jpg"));
        assert!(!next_page("扫描件0003_2.jpg", "扫描件0003_1.jpg"));
        assert!(!next_page("第一中学.jpg", "第十中学.jpg"));
        assert!(!next_page("a_1_1.jpg", "a_2_2.jpg"));
        assert_eq!(natural_cmp("p_2.jpg", "p_10.jpg"), Ordering::Less);
    }

    #[test]
    fn untitled_next_page_joins_titled_first_page() {
        let files = [
            f(1, "附件4_盖章_2.jpg", false),
            f(1, "附件4_盖章_1.jpg", true),
            f(2, "附件4_盖章_2.jpg", false), // another mail
            f(1, "附件1_盖章_1.jpg", true),
            f(1, "附件1_盖章_2.jpg", true), // titled: a form of its own
            f(1, "附件1_盖章_3.jpg", false),
        ];
        assert_eq!(
            groups(&files),
            vec![vec![1, 0], vec![2], vec![3], vec![4, 5]]
        );
        // Not read by OCR: nothing to tell a second page by.
        let mut unread = files;
        unread.iter_mut().for_each(|f| f.read = false);
        assert_eq!(groups(&unread).len(), 6);
    }
}
