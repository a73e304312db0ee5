//! Passwords the sender wrote in the mail for a protected attachment ("打开密码：2580",
//! "解压密码 abc123", "password: x"). Candidates only: each is tried on the encrypted
//! file in the parser worker, and a wrong one leaves the file `encrypted_attachment`.

/// Words that introduce a password, longest first so `打开密码` wins over `密码`.
const MARKERS: [&str; 10] = [
    "打开密码",
    "解压密码",
    "文档密码",
    "文件密码",
    "解压码",
    "密码",
    "口令",
    "password",
    "passwd",
    "pwd",
];

/// Most candidates taken from one mail (each costs a decryption attempt).
const MAX: usize = 4;

/// Password candidates in `subject` and `body`, in order of appearance, deduplicated.
pub fn candidates(subject: &str, body: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for text in [subject, body] {
        let lower = text.to_lowercase();
        let mut at = 0;
        while at < lower.len() && out.len() < MAX {
            let next = MARKERS
                .iter()
                .filter_map(|m| lower[at..].find(m).map(|i| (at + i, m.len())))
                .min_by_key(|(i, len)| (*i, usize::MAX - len));
            let Some((i, len)) = next else { break };
            at = i + len;
            // Only a marker at the start of `lower` maps to the same byte offset in
            // `text` when lower-casing kept byte lengths; otherwise read from `lower`.
            let src = if lower.len() == text.len() {
                text
            } else {
                &lower
            };
            if let Some(v) = value_after(src.get(at..).unwrap_or_default()) {
                if !out.contains(&v) {
                    out.push(v);
                }
            }
        }
    }
    out
}

/// The token after a marker: separators (`：: 是为 =` and spaces) skipped, quotes and
/// brackets taken off, ended by whitespace or Chinese punctuation.
fn value_after(rest: &str) -> Option<String> {
    let rest = rest.trim_start_matches(|c: char| {
        c.is_whitespace()
            || matches!(
                c,
                ':' | '：' | '是' | '为' | '=' | '"' | '“' | '「' | '【' | '(' | '（'
            )
    });
    let v: String = rest
        .chars()
        .take_while(|c| {
            !c.is_whitespace()
                && !matches!(
                    c,
                    '，' | '。' | '；' | '、' | ',' | ';' | '"' | '”' | '」' | '】' | ')' | '）'
                )
        })
        .take(64)
        .collect();
    let v = v.trim_end_matches(['.', '！']).to_string();
    // A value that is itself Chinese prose ("密码如下") is not a password.
    if v.is_empty() || v.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)) {
        return None;
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_in_chinese_and_english_mail() {
        assert_eq!(candidates("", "附件已加密，打开密码：2580，谢谢"), ["2580"]);
        assert_eq!(
            candidates("申报表（密码 ab12）", "Password: Kx9!"),
            ["ab12", "Kx9!"]
        );
        assert_eq!(candidates("", "口令是“tsjy2022”。"), ["tsjy2022"]);
        assert!(candidates("", "密码如下，请查收").is_empty());
        assert!(candidates("申报", "附件请查收").is_empty());
    }
}
