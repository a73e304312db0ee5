//! Which roster unit an application belongs to (pure). Evidence, strongest first: a
//! unit's name or alias in the applicant's own name (`丰南区教育局`, `唐山市丰南区第一
//! 中学`); in another unit-naming field of the form (address, 推荐单位, 工作单位); the
//! sender's address, when other applications from it were attributed by name. One unit
//! named by the strongest evidence found is an attribution; several units, or only an
//! address history, is a question for an operator — never a silent guess.

use crate::call::RosterEntry;
use serde::Serialize;

/// How sure an attribution is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    /// The applicant's name names exactly one unit.
    Name,
    /// Another field of the form (address, recommending unit) names exactly one unit.
    Field,
    /// The sender is the address the roster gives for the unit.
    RosterEmail,
    /// An operator decided (`roster --assign`).
    Operator,
}

impl Confidence {
    pub fn label_zh(self) -> &'static str {
        match self {
            Confidence::Name => "单位名称",
            Confidence::Field => "表内地址/推荐单位",
            Confidence::RosterEmail => "名单登记邮箱",
            Confidence::Operator => "人工指定",
        }
    }
}

/// The outcome for one application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attribution {
    /// Belongs to roster unit `index` (into the call's roster).
    Unit(usize, Confidence),
    /// An operator decided it belongs to no roster unit (市直, another city).
    NoUnit,
    /// Unsure: the candidate units (possibly none) and why; an operator decides.
    Ask(Vec<usize>, AskReason),
    /// Nothing names a unit and the form is not one the roster expects: not asked.
    None,
}

/// Why an attribution waits for an operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AskReason {
    /// Several units are named at the same strength.
    Ambiguous,
    /// Only the sender's address links it to a unit.
    AddressOnly,
    /// A form the roster expects names no unit at all.
    Unnamed,
}

impl AskReason {
    pub fn label_zh(self) -> &'static str {
        match self {
            AskReason::Ambiguous => "表中出现多个单位名称",
            AskReason::AddressOnly => "仅凭发件邮箱推断",
            AskReason::Unnamed => "表中未出现任何名单单位",
        }
    }
}

/// Whitespace and full/half-width brackets ignored, as in applicant keys.
pub fn norm(s: &str) -> String {
    crate::apps::applicant_key(s)
}

/// The units (indexes) whose name or an alias occurs in `text`. A name also matches
/// without its last character's suffix only when that stem is at least two characters
/// and followed by a typical unit word (丰南教育局), so 路南 does not match 路南区 in 滦南.
pub fn units_named(roster: &[RosterEntry], text: &str) -> Vec<usize> {
    let t = norm(text);
    if t.is_empty() {
        return Vec::new();
    }
    let mut found: Vec<usize> = Vec::new();
    for (i, e) in roster.iter().enumerate() {
        let names = std::iter::once(&e.unit).chain(e.aliases.iter());
        let hit = names.map(|n| norm(n)).any(|n| {
            if n.is_empty() {
                return false;
            }
            if t.contains(&n) {
                return true;
            }
            // 丰南区 → 丰南 + 教育局/科协/科技局
            let stem: String = {
                let mut c: Vec<char> = n.chars().collect();
                if matches!(c.last(), Some('区' | '县' | '市')) && c.len() >= 3 {
                    c.pop();
                }
                c.into_iter().collect()
            };
            stem != n
                && ["教育局", "科协", "科技局", "科学技术协会"]
                    .iter()
                    .any(|w| t.contains(&format!("{stem}{w}")))
        });
        if hit {
            found.push(i);
        }
    }
    found
}

/// Attribution from the form alone: `applicant` first, then the other texts.
pub fn from_form(roster: &[RosterEntry], applicant: &str, others: &[&str]) -> Attribution {
    let by_name = units_named(roster, applicant);
    match by_name.len() {
        1 => return Attribution::Unit(by_name[0], Confidence::Name),
        n if n > 1 => return Attribution::Ask(by_name, AskReason::Ambiguous),
        _ => {}
    }
    let mut by_field: Vec<usize> = Vec::new();
    for t in others {
        for u in units_named(roster, t) {
            if !by_field.contains(&u) {
                by_field.push(u);
            }
        }
    }
    match by_field.len() {
        0 => Attribution::None,
        1 => Attribution::Unit(by_field[0], Confidence::Field),
        _ => Attribution::Ask(by_field, AskReason::Ambiguous),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roster() -> Vec<RosterEntry> {
        crate::call::Call::builtin().roster.clone()
    }
    fn idx(r: &[RosterEntry], unit: &str) -> usize {
        r.iter().position(|e| e.unit == unit).unwrap()
    }

    #[test]
    fn the_applicants_name_decides() {
        let r = roster();
        let fn_ = idx(&r, "丰南区");
        assert_eq!(
            from_form(&r, "丰南区教育局", &[]),
            Attribution::Unit(fn_, Confidence::Name)
        );
        assert_eq!(
            from_form(&r, "唐山市丰南区第一中学", &["唐山市路北区某路"]),
            Attribution::Unit(fn_, Confidence::Name)
        );
        assert_eq!(
            from_form(&r, "丰南教育局", &[]),
            Attribution::Unit(fn_, Confidence::Name)
        );
        let gx = idx(&r, "唐山高新技术产业开发区");
        assert_eq!(
            from_form(&r, "高新区实验学校", &[]),
            Attribution::Unit(gx, Confidence::Name)
        );
    }

    #[test]
    fn similar_names_are_not_confused() {
        let r = roster();
        assert_eq!(units_named(&r, "滦南县第一中学"), vec![idx(&r, "滦南县")]);
        assert_eq!(units_named(&r, "路南区小学"), vec![idx(&r, "路南区")]);
        assert!(units_named(&r, "唐山市第一中学").is_empty());
    }

    #[test]
    fn fields_help_and_ambiguity_asks() {
        let r = roster();
        assert_eq!(
            from_form(&r, "实验小学", &["唐山市迁安市某路1号"]),
            Attribution::Unit(idx(&r, "迁安市"), Confidence::Field)
        );
        assert!(matches!(
            from_form(&r, "实验小学", &["迁安市", "遵化市"]),
            Attribution::Ask(_, AskReason::Ambiguous)
        ));
        assert!(matches!(
            from_form(&r, "路南区路北区联合学校", &[]),
            Attribution::Ask(_, AskReason::Ambiguous)
        ));
        assert_eq!(from_form(&r, "唐山市第一中学", &[]), Attribution::None);
    }
}
