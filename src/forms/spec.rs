//! The four forms as data: canonical keys in form order, which are required, which are
//! checkboxes (with their options), the label variants applicants type, and the form's
//! pre-printed words that must never end up in a value.

use crate::model::FormKind;

/// How a field's value is read and checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    /// Checked option labels, in form order.
    Choices(&'static [&'static str]),
    /// 附件2's narrative fields: at most 1000 non-whitespace characters.
    Narrative,
}

/// Which format check applies to a field's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    None,
    Email,
    Mobile,
    Landline,
    /// 联系电话 / 电话: a mobile or a landline number.
    Phone,
    Postcode,
}

#[derive(Debug, Clone, Copy)]
pub struct FieldSpec {
    /// Canonical key (`forms.md`).
    pub key: &'static str,
    /// Labels as typed, whitespace ignored when compared; the key itself comes first.
    pub labels: &'static [&'static str],
    pub required: bool,
    pub kind: Kind,
    pub format: Format,
    /// Further keys whose values sit in the cells after this field's value cell in the
    /// same row (附件4's opinion row: 申报学校 then 教育局).
    pub then: &'static [&'static str],
}

const fn f(key: &'static str, labels: &'static [&'static str]) -> FieldSpec {
    FieldSpec {
        key,
        labels,
        required: false,
        kind: Kind::Text,
        format: Format::None,
        then: &[],
    }
}

/// The date a signer wrote on an opinion cell's `年 月 日` line (`forms.md`: the
/// opinion key plus `日期`). No label of its own: taken out of the opinion's cell
/// ([`super::fields::split_opinion_dates`]).
const fn date_of_opinion(key: &'static str) -> FieldSpec {
    f(key, &[])
}

/// Opinion keys (the signer's cell) and the keys their dates go to.
pub const OPINION_DATES: [(&str, &str); 3] = [
    ("推荐单位意见", "推荐单位意见日期"),
    ("申报单位意见", "申报单位意见日期"),
    ("教育局意见", "教育局意见日期"),
];

const fn req(mut s: FieldSpec) -> FieldSpec {
    s.required = true;
    s
}

const fn fmt(mut s: FieldSpec, format: Format) -> FieldSpec {
    s.format = format;
    s
}

const fn kind(mut s: FieldSpec, kind: Kind) -> FieldSpec {
    s.kind = kind;
    s
}

pub const EXPERT_SERVICES: &[&str] =
    &["科普报告", "科技课堂", "科技辅导", "科学秀", "科技教师培训"];
pub const RESOURCE_KINDS: &[&str] = &[
    "科普讲座",
    "科学实践课程",
    "科普展示",
    "科学表演",
    "线上视频资源",
    "科普资源包",
];

const EXPERT: &[FieldSpec] = &[
    f("推荐单位", &["推荐单位"]),
    f("填报时间", &["填报时间", "填表时间", "填报日期"]),
    req(f("姓名", &["姓名"])),
    f("性别", &["性别"]),
    f("出生年月", &["出生年月", "出生日期"]),
    f("学历", &["学历"]),
    f("职务", &["职务"]),
    f("职称", &["职称"]),
    fmt(
        f(
            "E-mail",
            &["E-mail", "Email", "电子邮箱", "电子邮件", "邮箱"],
        ),
        Format::Email,
    ),
    fmt(
        f("固定电话", &["固定电话", "办公电话", "座机"]),
        Format::Landline,
    ),
    req(fmt(
        f("移动电话", &["移动电话", "手机号码", "手机"]),
        Format::Mobile,
    )),
    req(f("工作单位", &["工作单位"])),
    fmt(f("邮编", &["邮编", "邮政编码"]), Format::Postcode),
    f("研究专业", &["研究专业", "专业"]),
    kind(
        f("提供服务方式", &["提供服务方式", "服务方式"]),
        Kind::Choices(EXPERT_SERVICES),
    ),
    f(
        "个人简介及可提供服务内容说明",
        &[
            "个人简介及可提供服务内容说明",
            "个人简介及可提供服务",
            "个人简介",
        ],
    ),
    f("推荐单位意见", &["推荐单位意见"]),
    date_of_opinion("推荐单位意见日期"),
];

const RESOURCE: &[FieldSpec] = &[
    req(f("申报单位名称", &["申报单位名称", "单位名称"])),
    req(f("申报联系人", &["申报联系人", "联系人"])),
    req(fmt(f("联系电话", &["联系电话", "电话"]), Format::Phone)),
    fmt(
        f("电子邮箱", &["电子邮箱", "E-mail", "Email", "邮箱"]),
        Format::Email,
    ),
    f("通讯地址", &["通讯地址", "通信地址", "地址"]),
    kind(
        f("科技教育资源类别", &["科技教育资源类别", "资源类别"]),
        Kind::Choices(RESOURCE_KINDS),
    ),
    kind(
        f(
            "2019-2021年青少年科技教育工作情况",
            &[
                "2019-2021年青少年科技教育工作情况",
                "2019—2021年青少年科技教育工作情况",
            ],
        ),
        Kind::Narrative,
    ),
    kind(
        f(
            "落实“科普赋能”助推“双减”专项行动活动策划",
            &[
                "落实“科普赋能”助推“双减”专项行动活动策划",
                "落实\"科普赋能\"助推\"双减\"专项行动活动策划",
            ],
        ),
        Kind::Narrative,
    ),
];

const PILOT_DISTRICT: &[FieldSpec] = &[
    req(f("申报单位", &["申报单位"])),
    f("通讯地址", &["通讯地址", "通信地址"]),
    req(f("联系人", &["联系人"])),
    req(fmt(f("电话", &["电话", "联系电话"]), Format::Phone)),
    fmt(
        f("邮箱", &["邮箱", "电子邮箱", "E-mail", "Email"]),
        Format::Email,
    ),
    f("基本情况", &["基本情况"]),
    f("申报单位意见", &["申报单位意见"]),
    date_of_opinion("申报单位意见日期"),
    f("备注", &["备注"]),
];

const PILOT_SCHOOL: &[FieldSpec] = &[
    req(f("申报学校", &["申报学校", "学校名称"])),
    f("通讯地址", &["通讯地址", "通信地址"]),
    req(f("联系人", &["联系人"])),
    req(fmt(f("电话", &["电话", "联系电话"]), Format::Phone)),
    fmt(
        f("邮箱", &["邮箱", "电子邮箱", "E-mail", "Email"]),
        Format::Email,
    ),
    f("学校基本情况", &["学校基本情况", "基本情况"]),
    FieldSpec {
        then: &["教育局意见"],
        ..f("申报单位意见", &["申报单位意见"])
    },
    f("教育局意见", &["教育局意见"]),
    date_of_opinion("申报单位意见日期"),
    date_of_opinion("教育局意见日期"),
    f("备注", &["备注"]),
];

/// The fields of one form, in form order.
pub fn fields(form: FormKind) -> &'static [FieldSpec] {
    match form {
        FormKind::Expert => EXPERT,
        FormKind::Resource => RESOURCE,
        FormKind::PilotDistrict => PILOT_DISTRICT,
        FormKind::PilotSchool => PILOT_SCHOOL,
    }
}

pub fn field(form: FormKind, key: &str) -> Option<&'static FieldSpec> {
    fields(form).iter().find(|s| s.key == key)
}

/// Whole lines of a value that are the form's pre-printed words (compared with
/// whitespace and parenthesised instructions removed), e.g. `申报学校（盖章）`.
pub fn line_placeholders(form: FormKind) -> &'static [&'static str] {
    match form {
        FormKind::Expert | FormKind::Resource => &[],
        FormKind::PilotDistrict => &["教育局"],
        FormKind::PilotSchool => &["申报学校", "教育局"],
    }
}

/// Pre-printed words removed where they end a line of any form's value
/// (`盖   章`, `年  月  日` with no digits in it).
pub const SUFFIX_PLACEHOLDERS: &[&str] = &["盖章", "年月日"];

/// Words inside parentheses that mark the parentheses as the form's own instruction
/// (`（可另附页）`, `（…不超过1000字。）`, `（盖章）`).
pub const INSTRUCTION_WORDS: &[&str] = &["可另附页", "不超过", "盖章", "字以内"];
