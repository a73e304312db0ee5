//! Does a mail read like a person asking something (about their submission)?
//! Conservative: only explicit question words or question marks in the subject or
//! in the sender's own text (quoted replies and links are ignored).

/// Words that ask. "收到" alone is not here: "附件已发送，收到请回复" asks nothing.
const ASKING: [&str; 17] = [
    "请问",
    "咨询",
    "询问",
    "是否",
    "能否",
    "可否",
    "可不可以",
    "能不能",
    "有没有",
    "怎么",
    "如何",
    "吗",
    "收到没",
    "收到否",
    "什么时候",
    "何时",
    "哪里",
];

/// Markers after which a reply quotes an earlier mail.
const QUOTE_MARKERS: [&str; 5] = [
    "-----原始邮件-----",
    "------------------ 原始邮件 ------------------",
    "------------------ Original ------------------",
    "-----Original Message-----",
    "发件人：",
];

/// The sender's own words: quoted lines and everything after a quote marker dropped.
fn own_text(body: &str) -> String {
    let mut cut = body.len();
    for m in QUOTE_MARKERS {
        if let Some(p) = body.find(m) {
            cut = cut.min(p);
        }
    }
    body.get(..cut)
        .unwrap_or(body)
        .lines()
        .filter(|l| !l.trim_start().starts_with('>'))
        .map(|l| {
            // Links carry `?` query strings: drop them.
            l.split_whitespace()
                .filter(|w| !w.contains("://"))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn asks(text: &str) -> bool {
    if text.contains('？') || ASKING.iter().any(|w| text.contains(w)) {
        return true;
    }
    // An ASCII '?' counts after CJK text or at the end of a sentence, not in codes.
    let chars: Vec<char> = text.chars().collect();
    chars.iter().enumerate().any(|(i, &c)| {
        c == '?'
            && (i == 0 || chars.get(i - 1).is_some_and(|p| !p.is_ascii()))
            && chars
                .get(i + 1)
                .is_none_or(|n| n.is_whitespace() || !n.is_ascii())
    })
}

/// See [`super::looks_like_question`].
pub fn looks_like_question(subject: &str, body: &str) -> bool {
    let subject = subject
        .trim_start_matches(|c: char| c.is_whitespace())
        .trim_start_matches("回复：")
        .trim_start_matches("回复:");
    let own: String = own_text(body).chars().take(600).collect();
    asks(subject) || asks(&own)
}

#[cfg(test)]
mod tests {
    use super::looks_like_question as q;

    #[test]
    fn questions_and_non_questions() {
        assert!(q("请问申报表收到了吗", ""));
        assert!(q("咨询", "老师您好，试点学校申报需要盖章吗？"));
        assert!(q("", "材料已于昨天发送，请确认是否收到"));
        assert!(!q(
            "科普资源申报表-唐山一中",
            "附件是申报表，请查收，谢谢！"
        ));
        assert!(!q("申报材料", "已发送，收到请回复。"));
        assert!(!q("", "下载：https://mail.163.com/x?p=1&file=2"));
        assert!(!q("申报", "请查收\n> 请问收到了吗？"));
    }
}
