//! Files that are one scan of one form: a form scanned page by page and sent as several
//! JPGs in one mail. Only page 1 carries the title, the seal is often on the last page;
//! matched one by one, page 1 would be "unstamped" and page 2 would belong to nothing.
//! A group is matched as one scan and stamped when any of its pages is.
//!
//! What a page says and looks like decides, its name is a hint: phones name pages
//! `IMG_20220718_100148.jpg`, `IMG_20220718_100203.jpg`, chat apps `mmexport…`. A page
//! without a form title that comes right after a titled page of the same mail and
//! looks like it (size, resolution, paper: [`PageLook`]) is that page's next page; a
//! page that carries a title of its own always begins a new scan.

use super::fuzzy::compact;
use super::look::{Likeness, PageLook};
use crate::call::Call;
use crate::model::FormKey;

/// What grouping looks at of one scan file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanFile<'a> {
    pub message: i64,
    /// Position in the mail: the document's id (ids follow the attachments' order).
    pub seq: i64,
    /// File name as the sender gave it.
    pub name: &'a str,
    /// OCR found one of the call's form titles on it.
    pub titled: bool,
    /// The form its title names, or on a page without a title the form its words
    /// speak of ([`FormWords::speaks_of`]).
    pub form: Option<FormKey>,
    /// OCR ran on it (without OCR a page without a title cannot be told).
    pub read: bool,
    /// What its first page looks like, when it was measured.
    pub look: Option<PageLook>,
}

/// Groups `files` (indices into it, each group in page order, groups in the order of
/// their first file). Files are taken in mail order, a page named as the next page of
/// another (`…_1` → `…_2`) right after that one. A file joins the group before it when
/// the group began with a titled page, the file came in the same mail, OCR read it and
/// found no title on it, its words speak of no other form than the group's, and it
/// looks like the page before it ([`Likeness::Alike`]), or its look is not clearly
/// different and its words speak of the group's form or its name follows that page's.
pub fn groups(files: &[ScanFile<'_>]) -> Vec<Vec<usize>> {
    let mut out: Vec<Vec<usize>> = Vec::new();
    for i in page_order(files) {
        let f = &files[i];
        let joins = out.last().is_some_and(|g| {
            let (first, last) = (&files[g[0]], &files[g[g.len() - 1]]);
            let look = last.look.zip(f.look).map(|(a, b)| a.compare(&b));
            let same_form = first.form.zip(f.form).map(|(a, b)| a == b);
            first.titled
                && last.message == f.message
                && f.read
                && !f.titled
                && same_form != Some(false)
                && match look {
                    Some(Likeness::Alike) => true,
                    Some(Likeness::Different) => false,
                    Some(Likeness::Unsure) | None => {
                        same_form == Some(true) || next_page(last.name, f.name)
                    }
                }
        });
        match out.last_mut() {
            Some(g) if joins => g.push(i),
            _ => out.push(vec![i]),
        }
    }
    out.sort_by_key(|g| g[0]);
    out
}

/// Each form's own words: field labels and pre-printed lines no other form has, 3
/// characters or more (`申报学校（盖章）`, `学校基本情况`), compacted. Built once per
/// grouping, not per page.
pub struct FormWords(Vec<(FormKey, Vec<String>)>);

impl FormWords {
    pub fn of(call: &Call) -> FormWords {
        let words: Vec<(FormKey, Vec<String>)> = call
            .forms
            .iter()
            .map(|f| {
                let mut w: Vec<String> = f
                    .fields
                    .iter()
                    .flat_map(|x| x.labels.iter())
                    .chain(&f.placeholders)
                    .map(|l| compact(l).into_iter().collect::<String>())
                    .filter(|l| l.chars().count() >= 3)
                    .collect();
                w.sort();
                w.dedup();
                (f.key, w)
            })
            .collect();
        // Only a form's own: a word inside another form's word speaks of both.
        let own = words
            .iter()
            .map(|(key, ws)| {
                let only: Vec<String> = ws
                    .iter()
                    .filter(|w| {
                        !words.iter().any(|(other, os)| {
                            other != key && os.iter().any(|o| o.contains(w.as_str()))
                        })
                    })
                    .cloned()
                    .collect();
                (*key, only)
            })
            .collect();
        FormWords(own)
    }

    /// The form the text of a page without a title speaks of: the one form whose own
    /// words occur in it. None when no form's do, or several forms' do.
    pub fn speaks_of(&self, text: &str) -> Option<FormKey> {
        let hay: String = compact(text).into_iter().collect();
        let mut speaking = self
            .0
            .iter()
            .filter(|(_, own)| own.iter().any(|w| hay.contains(w.as_str())));
        match (speaking.next(), speaking.next()) {
            (Some((key, _)), None) => Some(*key),
            _ => None,
        }
    }
}

/// Indices of `files` by mail, then as they came, except that a file whose name is the
/// next page of another file of its mail follows that file (`扫描件_2.jpg` attached
/// before `扫描件_1.jpg` still comes second).
fn page_order(files: &[ScanFile<'_>]) -> Vec<usize> {
    let mut came: Vec<usize> = (0..files.len()).collect();
    came.sort_by_key(|&i| (files[i].message, files[i].seq, i));
    let mut out = Vec::with_capacity(files.len());
    for mail in came.chunk_by(|&a, &b| files[a].message == files[b].message) {
        // Per file (a place in `mail`): the first file whose name it follows.
        let pred: Vec<Option<usize>> = mail
            .iter()
            .map(|&i| {
                mail.iter()
                    .position(|&j| next_page(files[j].name, files[i].name))
            })
            .collect();
        // (first file of its name chain, place in the chain); names only ever step
        // up, so a chain ends, and it is at most as long as the mail.
        let key = |mut k: usize| {
            let mut depth = 0;
            while let Some(p) = pred[k].filter(|_| depth < mail.len()) {
                k = p;
                depth += 1;
            }
            (k, depth)
        };
        let mut order: Vec<(usize, usize, usize)> = (0..mail.len())
            .map(|k| {
                let (root, depth) = key(k);
                (root, depth, k)
            })
            .collect();
        order.sort_unstable();
        out.extend(order.into_iter().map(|(_, _, k)| mail[k]));
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn f(message: i64, name: &str, titled: bool) -> ScanFile<'_> {
        ScanFile {
            message,
            seq: 0,
            name,
            titled,
            form: None,
            read: true,
            look: None,
        }
    }

    /// Files in mail order (seq = index) with a look each.
    fn looked<'a>(list: &[(&'a str, bool, PageLook)]) -> Vec<ScanFile<'a>> {
        list.iter()
            .enumerate()
            .map(|(i, &(name, titled, look))| ScanFile {
                seq: i as i64,
                look: Some(look),
                ..f(1, name, titled)
            })
            .collect()
    }

    fn scanner() -> PageLook {
        PageLook {
            width: 1000,
            height: 1414,
            dpi: Some(150),
            paper: [246, 243, 234],
        }
    }

    fn phone() -> PageLook {
        PageLook {
            width: 3000,
            height: 4000,
            dpi: None,
            paper: [205, 200, 190],
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
    }

    #[test]
    fn untitled_next_page_joins_titled_first_page() {
        let mut files = [
            f(1, "附件4_盖章_2.jpg", false),
            f(1, "附件4_盖章_1.jpg", true),
            f(2, "附件4_盖章_2.jpg", false), // another mail
            f(1, "附件1_盖章_1.jpg", true),
            f(1, "附件1_盖章_2.jpg", true), // titled: a form of its own
            f(1, "附件1_盖章_3.jpg", false),
        ];
        files.iter_mut().zip(0..).for_each(|(f, i)| f.seq = i);
        assert_eq!(
            groups(&files),
            vec![vec![1, 0], vec![2], vec![3], vec![4, 5]]
        );
        // Not read by OCR: nothing to tell a second page by.
        let mut unread = files;
        unread.iter_mut().for_each(|f| f.read = false);
        assert_eq!(groups(&unread).len(), 6);
    }

    /// Phone and chat-app names say nothing; the page right after a titled page that
    /// looks like it is its next page.
    #[test]
    fn unrelated_names_join_by_look() {
        let files = looked(&[
            ("IMG_20220718_100148.jpg", true, scanner()),
            ("mmexport1658110923.jpg", false, scanner()),
        ]);
        assert_eq!(groups(&files), vec![vec![0, 1]]);
        // Another mail: no.
        let mut other = files.clone();
        other[1].message = 2;
        assert_eq!(groups(&other).len(), 2);
    }

    /// A page that looks different is not the next page, even when its name follows.
    #[test]
    fn a_different_look_keeps_pages_apart() {
        let files = looked(&[
            ("扫描件0001.jpg", true, scanner()),
            ("扫描件0002.jpg", false, phone()),
        ]);
        assert_eq!(groups(&files), vec![vec![0], vec![1]]);
        // Without a look, or with a look not clearly different (the light changed
        // between two photos), the name decides.
        let mut blind = files.clone();
        blind[1].look = None;
        assert_eq!(groups(&blind), vec![vec![0, 1]]);
        let relit = PageLook {
            paper: [205, 200, 195],
            ..scanner()
        };
        let mut unsure = files.clone();
        unsure[1].look = Some(relit);
        assert_eq!(groups(&unsure), vec![vec![0, 1]]);
        // …and with unrelated names such a page stays apart.
        unsure[1].name = "mmexport1658110923.jpg";
        assert_eq!(groups(&unsure), vec![vec![0], vec![1]]);
    }

    /// A page with a title of its own begins a new scan however alike the pages look:
    /// two forms scanned one after the other in one mail stay two scans.
    #[test]
    fn a_titled_page_begins_a_new_scan() {
        let files = looked(&[
            ("IMG_20220718_100148.jpg", true, scanner()),
            ("IMG_20220718_100203.jpg", true, scanner()),
            ("IMG_20220718_100251.jpg", false, scanner()),
        ]);
        assert_eq!(groups(&files), vec![vec![0], vec![1, 2]]);
    }

    /// Only the page right after: an untitled page of another look in between ends
    /// the scan, and a like-looking page after it does not reach back.
    #[test]
    fn only_the_page_right_after_joins() {
        let files = looked(&[
            ("a.jpg", true, scanner()),
            ("b.jpg", false, phone()),
            ("c.jpg", false, scanner()),
        ]);
        assert_eq!(groups(&files), vec![vec![0], vec![1], vec![2]]);
        // Attached in another order, the name chain still puts page 2 after page 1.
        let files = looked(&[
            ("扫描件_2.jpg", false, scanner()),
            ("x.jpg", true, phone()),
            ("扫描件_1.jpg", true, scanner()),
        ]);
        assert_eq!(groups(&files), vec![vec![1], vec![2, 0]]);
    }

    /// What an untitled page says: words of the group's form let it join where look
    /// and names alone would not; words of another form keep it apart however alike.
    #[test]
    fn what_a_page_says_joins_or_parts_it() {
        let school = FormKey::parse("pilot_school");
        let district = FormKey::parse("pilot_district");
        let relit = PageLook {
            paper: [205, 200, 195],
            ..scanner()
        };
        let mut files = looked(&[
            ("IMG_20220718_100148.jpg", true, scanner()),
            ("mmexport1658110923.jpg", false, relit),
        ]);
        files[0].form = school;
        assert_eq!(groups(&files), vec![vec![0], vec![1]]);
        files[1].form = school;
        assert_eq!(groups(&files), vec![vec![0, 1]]);
        files[1].look = Some(scanner());
        files[1].form = district;
        assert_eq!(groups(&files), vec![vec![0], vec![1]]);
    }

    #[test]
    fn a_page_speaks_of_the_form_whose_own_words_it_has() {
        let call = Call::builtin();
        let page2 = "学校概况略。\n申报学校（盖章）\n2022年7月15日";
        let words = FormWords::of(call);
        assert_eq!(words.speaks_of(page2), FormKey::parse("pilot_school"));
        // Words every form has say nothing.
        assert_eq!(words.speaks_of("联系人 电话 邮箱"), None);
        assert_eq!(words.speaks_of("2022年7月15日"), None);
    }
}
