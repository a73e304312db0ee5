//! Checkbox states, whatever way the applicant ticked: a glyph typed over `□`
//! (`☑ ☒ ■ √ ✓ ✔ ▣ ●`), a Wingdings / Wingdings 2 / Symbol `w:sym`, the Private Use
//! Area characters LibreOffice turns those into, or the unchecked options deleted.
//!
//! The rule for deleted options: when no option carries a tick and the applicant has
//! removed some of the printed options, the options still standing are the chosen
//! ones (that is the only reason to delete them). When every option is still there and
//! none is ticked, nothing was chosen.

use super::grid::{CHECKED, UNCHECKED};

/// Characters applicants use for a ticked box.
pub fn is_checked_mark(c: char) -> bool {
    matches!(
        c,
        '☑' | '☒'
            | '■'
            | '√'
            | '✓'
            | '✔'
            | '▣'
            | '●'
            | '✗'
            | '✘'
            | '◉'
            | '⊠'
            | '⬛'
            | '▇'
            | '█'
    )
}

/// Characters that stand for an empty box.
pub fn is_unchecked_mark(c: char) -> bool {
    matches!(
        c,
        '□' | '☐' | '○' | '〇' | '◻' | '◯' | '▢' | '❑' | '❒' | '口'
    )
}

/// A Wingdings-family symbol (`w:sym w:font=… w:char=…`, or a PUA character) as a box
/// state; other symbols give None and are dropped from text.
pub fn symbol(font: &str, code: u32) -> Option<char> {
    // Symbol fonts are addressed either as F0xx (PUA) or as the plain byte.
    let byte = if (0xF000..=0xF0FF).contains(&code) {
        code - 0xF000
    } else if code <= 0xFF {
        code
    } else {
        return None;
    };
    let f = font.to_ascii_lowercase();
    if f.contains("wingdings 2") || f.contains("wingdings2") {
        match byte {
            0x4F..=0x54 => Some(CHECKED),
            0xA3 | 0x2A | 0xA2 | 0x99 => Some(UNCHECKED),
            _ => None,
        }
    } else if f.contains("symbol") {
        match byte {
            0xD6 => Some(CHECKED),
            _ => None,
        }
    } else {
        // Wingdings (also what LibreOffice's PUA text and unnamed fonts mean).
        match byte {
            0xFE | 0xFD | 0xFC | 0xFB | 0x78 | 0x6E | 0x6C | 0xA4 | 0xA7 => Some(CHECKED),
            0xA8 | 0x6F | 0x71 | 0x72 | 0xA1 | 0x70 => Some(UNCHECKED),
            _ => None,
        }
    }
}

/// Text with Private Use Area symbol characters (U+F0xx, how LibreOffice stores
/// Wingdings) replaced by box states; other PUA characters are dropped.
pub fn normalize_pua(text: &str) -> String {
    if !text.chars().any(is_pua) {
        return text.to_string();
    }
    text.chars()
        .filter_map(|c| {
            if is_pua(c) {
                symbol("Wingdings", c as u32)
            } else {
                Some(c)
            }
        })
        .collect()
}

fn is_pua(c: char) -> bool {
    ('\u{E000}'..='\u{F8FF}').contains(&c)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Absent,
    Bare,
    Checked,
    Unchecked,
}

fn mark_state(c: char) -> Option<State> {
    if is_checked_mark(c) {
        Some(State::Checked)
    } else if is_unchecked_mark(c) {
        Some(State::Unchecked)
    } else {
        None
    }
}

fn is_bracket(c: char) -> bool {
    matches!(
        c,
        '(' | ')' | '（' | '）' | '[' | ']' | '【' | '】' | '“' | '”'
    )
}

/// The checked options of a checkbox field, in form order, read from its value text.
pub fn read_choices<S: AsRef<str>>(text: &str, options: &[S]) -> Vec<String> {
    let s: Vec<char> = normalize_pua(text)
        .chars()
        .filter(|c| !c.is_whitespace() && !is_bracket(*c))
        .collect();
    let found: Vec<Option<(usize, usize)>> = options
        .iter()
        .map(|o| {
            let o: Vec<char> = o.as_ref().chars().collect();
            find(&s, &o).map(|i| (i, i + o.len()))
        })
        .collect();
    let before = |(i, _): (usize, usize)| i.checked_sub(1).and_then(|j| mark_state(s[j]));
    let after = |(_, e): (usize, usize)| s.get(e).copied().and_then(mark_state);
    // Marks go before the option unless the first option found has none before it and
    // one after it (`科普报告√ 科技课堂`).
    let first = found.iter().flatten().min_by_key(|(i, _)| *i).copied();
    let marks_after = match first {
        Some(p) => before(p).is_none() && after(p).is_some(),
        None => false,
    };
    let states: Vec<State> = found
        .iter()
        .map(|p| match p {
            None => State::Absent,
            Some(p) => {
                let m = if marks_after { after(*p) } else { before(*p) };
                m.unwrap_or(State::Bare)
            }
        })
        .collect();
    let pick = |want: &dyn Fn(State) -> bool| -> Vec<String> {
        options
            .iter()
            .zip(&states)
            .filter(|(_, s)| want(**s))
            .map(|(o, _)| o.as_ref().to_string())
            .collect()
    };
    let checked = pick(&|s| s == State::Checked);
    if !checked.is_empty() {
        return checked;
    }
    let absent = states.contains(&State::Absent);
    let present = states.iter().any(|s| *s != State::Absent);
    if absent && present {
        pick(&|s| s != State::Absent)
    } else {
        Vec::new()
    }
}

fn find(hay: &[char], needle: &[char]) -> Option<usize> {
    if needle.is_empty() || needle.len() > hay.len() {
        return None;
    }
    (0..=hay.len() - needle.len()).find(|&i| hay[i..i + needle.len()] == *needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    const OPTS: &[&str] = &["科普报告", "科技课堂", "科技辅导", "科学秀", "科技教师培训"];

    #[test]
    fn typed_glyphs() {
        let t = "□科普报告    ■科技课堂    □科技辅导 \n√科学秀      □科技教师培训";
        assert_eq!(read_choices(t, OPTS), vec!["科技课堂", "科学秀"]);
        let t = "☒科普报告 ✔科技课堂 ●科技辅导 ▣科学秀 ✓科技教师培训";
        assert_eq!(read_choices(t, OPTS).len(), 5);
    }

    #[test]
    fn nothing_ticked_is_empty() {
        let t = "□科普报告    □科技课堂    □科技辅导 \n□科学秀      □科技教师培训";
        assert!(read_choices(t, OPTS).is_empty());
        assert!(read_choices("", OPTS).is_empty());
    }

    #[test]
    fn deleted_options_leave_the_choice() {
        assert_eq!(
            read_choices("科普报告  科学秀", OPTS),
            vec!["科普报告", "科学秀"]
        );
        assert_eq!(read_choices("□科技辅导", OPTS), vec!["科技辅导"]);
    }

    #[test]
    fn marks_after_options() {
        let t = "科普报告（√） 科技课堂 科技辅导√ 科学秀 科技教师培训";
        assert_eq!(read_choices(t, OPTS), vec!["科普报告", "科技辅导"]);
    }

    #[test]
    fn pua_wingdings() {
        let t = "\u{F0A8}科普报告 \u{F0FE}科技课堂 \u{F0A8}科技辅导 \u{F0A8}科学秀 \u{F0A8}科技教师培训";
        assert_eq!(read_choices(t, OPTS), vec!["科技课堂"]);
        assert_eq!(symbol("Wingdings 2", 0xF052), Some(CHECKED));
        assert_eq!(symbol("Wingdings", 0xF0A8), Some(UNCHECKED));
        assert_eq!(symbol("Wingdings", 0xF041), None);
    }
}
