//! Unit tests of field extraction (`fields.rs`).

use super::*;
use crate::call::Call;

fn form(key: &str) -> &'static FormDef {
    Call::builtin().form(key).unwrap()
}

#[test]
fn opinion_dates_are_split_off() {
    assert_eq!(
        split_trailing_date("同意申报。\n2022年7月10日"),
        ("同意申报。", "2022年7月10日".to_string())
    );
    assert_eq!(
        split_trailing_date("同意推荐 2022 年 7 月 4 日"),
        ("同意推荐", "2022年7月4日".to_string())
    );
    assert_eq!(
        split_trailing_date("同意。2022.7.4"),
        ("同意。", "2022.7.4".to_string())
    );
    assert_eq!(
        split_trailing_date("同意推荐。"),
        ("同意推荐。", String::new())
    );
    assert_eq!(
        split_trailing_date("编号 12 2022-07-04"),
        ("编号 12", "2022-07-04".to_string())
    );
}

#[test]
fn prefix_ignores_whitespace_and_width() {
    assert_eq!(match_prefix("提供服务\n方式", "提供服务方式"), Some(19));
    assert!(match_prefix("Ｅ-mail", "E-mail").is_some());
    assert!(match_prefix("基  本  情  况（可另附页）", "基本情况").is_some());
    assert!(match_prefix("性别", "姓名").is_none());
}

#[test]
fn placeholders_are_not_values() {
    let f = form("resource");
    assert_eq!(
        clean_value(f, "（本单位科技教育活动资源服务等情况。不超过1000字。）"),
        ""
    );
    assert_eq!(
        clean_value(f, "（可另附页）\n我单位于2019年…\n\n第二段"),
        "我单位于2019年…\n第二段"
    );
    assert_eq!(
        clean_value(form("expert"), "同意推荐。\n\n   盖   章\n  年   月   日"),
        "同意推荐。"
    );
    assert_eq!(
        clean_value(form("expert"), "同意\n2022年7月15日"),
        "同意\n2022年7月15日"
    );
    assert_eq!(
        clean_value(form("pilot_school"), "同意申报\n\n申报学校（盖章）"),
        "同意申报"
    );
    assert_eq!(
        clean_value(form("resource"), "唐山市（有限公司）"),
        "唐山市（有限公司）"
    );
}

#[test]
fn inline_labels_split() {
    let labels = Labels::new(form("expert"));
    let (s, rest) = labels
        .at_start("推荐单位：唐山市科协      填报时间：2022年7月15日", false)
        .unwrap();
    assert_eq!(s.key, "推荐单位");
    let (mine, next) = labels.split_inline(rest);
    assert_eq!(mine.trim(), "唐山市科协");
    assert_eq!(next.unwrap().0.key, "填报时间");
    let (s, _) = labels.at_start("推荐单位\n意见", false).unwrap();
    assert_eq!(s.key, "推荐单位意见");
    assert!(labels.at_start("研究专业方向很广", false).is_none());
}
