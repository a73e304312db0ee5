//! Fuzzy text comparison for OCR output: approximate substring search (OCR gets one
//! character in five wrong on a noisy scan), digit runs for phone numbers, and the
//! longest common substring of two file names.

/// Characters of `s` without whitespace, ASCII lower-cased: OCR inserts spaces freely.
pub fn compact(s: &str) -> Vec<char> {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Smallest edit distance between `needle` and any substring of `hay` (Sellers'
/// algorithm: the first row is free, so the match may start anywhere).
pub fn approx_find(needle: &[char], hay: &[char]) -> usize {
    if needle.is_empty() {
        return 0;
    }
    let m = needle.len();
    // col[i] = distance of needle[..i] to the best substring ending here.
    let mut col: Vec<usize> = (0..=m).collect();
    let mut best = m;
    for &h in hay {
        let mut diag = col[0]; // value of col[i-1] from the previous column
        col[0] = 0;
        for i in 1..=m {
            let up = col[i];
            let cost = usize::from(needle[i - 1] != h);
            col[i] = (diag + cost).min(col[i - 1] + 1).min(up + 1);
            diag = up;
        }
        best = best.min(col[m]);
    }
    best
}

/// 0–1: how well `name` occurs somewhere in `text` (1 = exactly, 1 − errors/length
/// otherwise). Names of fewer than 2 characters say nothing and score 0.
pub fn occurs(name: &str, text: &[char]) -> f64 {
    let n = compact(name);
    if n.len() < 2 {
        return 0.0;
    }
    let d = approx_find(&n, text);
    1.0 - d as f64 / n.len() as f64
}

/// The text's digits with every other character collapsed to one `|` separator,
/// except the spaces, hyphens and brackets people and OCR put inside phone numbers.
pub fn digit_stream(text: &str) -> Vec<char> {
    let mut out = Vec::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            out.push(c);
        } else if matches!(c, ' ' | '-' | '－' | '—' | '(' | ')' | '（' | '）') {
            continue;
        } else if out.last() != Some(&'|') {
            out.push('|');
        }
    }
    out
}

/// The digits of a phone number as written in a form field (`0315-2826617`).
pub fn phone_digits(s: &str) -> Vec<char> {
    s.chars().filter(|c| c.is_ascii_digit()).collect()
}

/// Whether phone number `digits` (≥ 7 digits) is in `stream` from [`digit_stream`],
/// allowing one misread digit in numbers of 10 or more digits.
pub fn phone_in(digits: &[char], stream: &[char]) -> bool {
    if digits.len() < 7 {
        return false;
    }
    let allowed = usize::from(digits.len() >= 10);
    approx_find(digits, stream) <= allowed
}

/// Length of the longest common substring of `a` and `b` (in characters).
pub fn longest_common(a: &[char], b: &[char]) -> usize {
    let mut prev = vec![0usize; b.len() + 1];
    let mut best = 0;
    for &ca in a {
        let mut cur = vec![0usize; b.len() + 1];
        for (j, &cb) in b.iter().enumerate() {
            if ca == cb {
                cur[j + 1] = prev[j] + 1;
                best = best.max(cur[j + 1]);
            }
        }
        prev = cur;
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn approx_find_counts_errors() {
        let hay = compact("申报单位名称 唐山市第 一中学 联系人");
        assert_eq!(approx_find(&compact("唐山市第一中学"), &hay), 0);
        assert_eq!(approx_find(&compact("唐山市第二中学"), &hay), 1);
        assert_eq!(approx_find(&compact("迁安市教育局"), &hay), 5);
    }

    #[test]
    fn occurs_scores() {
        let hay = compact("联系人 王丽化");
        assert_eq!(occurs("王丽华", &hay), 1.0 - 1.0 / 3.0);
        assert_eq!(occurs("联系人", &hay), 1.0);
        assert_eq!(occurs("王", &hay), 0.0);
    }

    #[test]
    fn phones_survive_ocr_spacing() {
        let s = digit_stream("电话 138 3151 2345 邮编063000");
        assert!(phone_in(&phone_digits("13831512345"), &s));
        assert!(phone_in(&phone_digits("13831512346"), &s)); // one misread digit
        assert!(!phone_in(&phone_digits("13931512399"), &s));
        let s = digit_stream("电话（0315）2826617");
        assert!(phone_in(&phone_digits("0315-2826617"), &s));
        assert!(!phone_in(&phone_digits("063000"), &s)); // too short to mean anything
    }

    #[test]
    fn longest_common_substring() {
        let a = compact("唐山市第一中学-科普资源申报表");
        let b = compact("扫描件 唐山市第一中学.jpg");
        assert_eq!(longest_common(&a, &b), 7);
        assert_eq!(longest_common(&compact("abc"), &compact("xyz")), 0);
    }
}
