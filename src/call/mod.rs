//! The call as data: which forms a call has (key, 附件 number, title, fields with their
//! labels and checks, which field names the applicant), its deadline and its roster,
//! read once from a TOML file (`config/calls/*.toml`, schema in ARCHITECTURE.md).
//! Every stage that knows a form asks the [`Call`]; a new call or a fifth form is a new
//! file, not new code. Pure: text in, types out ([`parse`]); reading the file is the
//! caller's (`config.rs`), and the pure core (`forms/`) gets the definition passed in.
//!
//! The service side installs the call once at start ([`install`]); [`current`] is that
//! call, else the built-in 2022 one ([`Call::builtin`]).

mod key;
mod parse;

pub use key::FormKey;
pub use parse::CallError;

use chrono::{DateTime, FixedOffset};
use std::path::PathBuf;
use std::sync::{OnceLock, RwLock};

/// The 2022 Tangshan call, shipped as `config/calls/2022-tangshan.toml`.
pub const BUILTIN_TEXT: &str = include_str!("../../config/calls/2022-tangshan.toml");
/// Where [`BUILTIN_TEXT`] lives in the repository (named in error messages).
pub const BUILTIN_PATH: &str = "config/calls/2022-tangshan.toml";

/// One call for applications.
#[derive(Debug, Clone)]
pub struct Call {
    pub name: String,
    /// Mail received after this instant is late (`[intake] deadline` wins when set).
    pub deadline: DateTime<FixedOffset>,
    /// The forms in 附件 order.
    pub forms: Vec<FormDef>,
    /// Words whose presence tells an OCR text reads like one of this call's forms.
    pub ocr_vocabulary: Vec<String>,
    /// Headings of the call's notice (whitespace removed): a document carrying one, with
    /// none of its form's required fields filled in, is the notice circulated, not an
    /// application ([`crate::forms::is_notice`]).
    pub notice: Vec<String>,
    pub roster: Vec<RosterEntry>,
    /// The file it was read from; None for the built-in call.
    pub source: Option<PathBuf>,
    /// Hash of the file's text: parse results cached under one call are not reused
    /// under another.
    pub fingerprint: u64,
}

/// One form of the call.
#[derive(Debug, Clone)]
pub struct FormDef {
    pub key: FormKey,
    /// 附件 number.
    pub number: u32,
    /// The form's printed title, e.g. 科技教育专家服务团成员推荐表.
    pub title: String,
    /// Texts that identify the form (whitespace removed; `title` when the file gives
    /// none).
    pub titles: Vec<String>,
    /// A word only this form's title has (whitespace removed): an OCR text whose title
    /// was cut short still names the form when exactly one form's word is in it.
    pub ocr_keyword: Option<String>,
    /// Short name: export sheet and CSV file name.
    pub short: String,
    /// `附件N title`, what operators and applicants read.
    pub heading: String,
    /// Whole lines of a value that are the form's pre-printed words (`申报学校（盖章）`).
    pub placeholders: Vec<String>,
    pub fields: Vec<FieldSpec>,
}

/// How a field's value is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Text,
    /// Checked option labels, in form order.
    Choices(Vec<String>),
}

/// Which format check applies to a field's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    #[serde(skip)]
    None,
    Email,
    Mobile,
    Landline,
    /// 联系电话 / 电话: a mobile or a landline number.
    Phone,
    Postcode,
}

/// What a field's value tells about where the applicant belongs: the 汇总表's 单位 and
/// 联系人 columns and the roster's attribution read it, never the field's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    #[default]
    #[serde(skip)]
    None,
    /// The applicant's own unit (a person's work unit or school). A form without one
    /// is a unit's form: its applicant is the unit.
    Unit,
    /// The unit's contact person.
    Contact,
    /// A text that places the applicant (an address, the recommending unit, an opinion
    /// signed by the unit or its bureau): read only to attribute it to a roster unit.
    Locality,
}

/// One field of a form.
#[derive(Debug, Clone)]
pub struct FieldSpec {
    /// Canonical key (`forms.md`).
    pub key: String,
    /// Labels as typed, whitespace ignored when compared; the key itself comes first.
    pub labels: Vec<String>,
    pub required: bool,
    pub kind: Kind,
    pub format: Format,
    /// At most this many non-whitespace characters (`over_limit:<key>`).
    pub max_chars: Option<usize>,
    /// This value names the applicant (one field per form).
    pub applicant: bool,
    /// This value names a person or unit besides the applicant (contact, work unit,
    /// e-mail): scan matching looks for it in a scan's OCR text.
    pub identifies: bool,
    /// Where this value places the applicant ([`Role`]).
    pub role: Role,
    /// Further keys whose values sit in the cells after this field's value cell in the
    /// same row (附件4's opinion row: 申报单位意见 then 教育局意见).
    pub then: Vec<String>,
    /// An opinion cell's signer's date goes to this key (`forms.md`: the opinion key
    /// plus `日期`); the call gets a field of that key, with no label of its own, right
    /// after this one ([`crate::forms::fields::split_opinion_dates`]).
    pub date_key: Option<String>,
}

/// A unit expected to apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterEntry {
    pub unit: String,
    /// What it must send: a form and how many of it (at least one).
    pub expect: Vec<Expect>,
    pub email: Option<String>,
    pub aliases: Vec<String>,
}

/// `"pilot_school:2"`: at least two applications on the form `pilot_school`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expect {
    pub form: FormKey,
    pub min: u32,
}

impl std::fmt::Display for Expect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.min == 1 {
            write!(f, "{}", self.form)
        } else {
            write!(f, "{}:{}", self.form, self.min)
        }
    }
}

impl Call {
    /// Reads a call file's text; `path` names it in errors (`path: line: what`).
    pub fn parse(path: &str, text: &str) -> Result<Call, CallError> {
        parse::parse(path, text)
    }

    /// The built-in 2022 Tangshan call.
    pub fn builtin() -> &'static Call {
        static BUILTIN: OnceLock<&'static Call> = OnceLock::new();
        BUILTIN.get_or_init(|| {
            let call = Call::parse(BUILTIN_PATH, BUILTIN_TEXT)
                .unwrap_or_else(|e| panic!("the built-in call does not parse: {e}"));
            Box::leak(Box::new(call))
        })
    }

    /// The form with this key, if the call has it.
    pub fn form(&self, key: &str) -> Option<&FormDef> {
        self.forms.iter().find(|f| f.key.as_str() == key)
    }

    /// The forms' keys in 附件 order.
    pub fn keys(&self) -> impl Iterator<Item = FormKey> + '_ {
        self.forms.iter().map(|f| f.key)
    }

    /// Which form a text is, by its title (whitespace ignored); the first form in
    /// 附件 order whose title the text contains.
    pub fn identify(&self, text: &str) -> Option<&FormDef> {
        let t: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        self.forms
            .iter()
            .find(|f| f.titles.iter().any(|title| t.contains(title.as_str())))
    }
}

impl FormDef {
    pub fn field(&self, key: &str) -> Option<&FieldSpec> {
        self.fields.iter().find(|s| s.key == key)
    }

    /// The canonical key of the field that names the applicant.
    pub fn applicant_key(&self) -> &str {
        self.fields
            .iter()
            .find(|s| s.applicant)
            .map(|s| s.key.as_str())
            .unwrap_or_default()
    }

    /// The canonical keys in form order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.fields.iter().map(|s| s.key.as_str())
    }
}

static CURRENT: RwLock<Option<&'static Call>> = RwLock::new(None);

/// Makes `call` the call of this process (done once at start, after the config is
/// read; a call lives as long as the process).
pub fn install(call: Call) -> &'static Call {
    let call: &'static Call = Box::leak(Box::new(call));
    *CURRENT.write().unwrap_or_else(|e| e.into_inner()) = Some(call);
    call
}

/// The installed call, else the built-in one.
pub fn current() -> &'static Call {
    let installed = *CURRENT.read().unwrap_or_else(|e| e.into_inner());
    installed.unwrap_or_else(Call::builtin)
}

/// Environment variable naming the call file for the parser child processes (they
/// start without the config and must read forms the way their parent does).
pub const CALL_ENV: &str = "KEPU_INTAKE_CALL";
