//! The field contract both form targets check on every parse that succeeds: only
//! canonical keys of the recognised form come out, and nothing at all when no form was
//! recognised (`../shared/forms.md`, the built-in call file).

use kepu_intake::call::Call;
use kepu_intake::forms::ParsedForm;

pub fn assert_field_contract(parsed: &ParsedForm) {
    match parsed.form {
        Some(kind) => {
            for key in parsed.fields.keys() {
                let form = Call::builtin()
                    .form(kind.as_str())
                    .expect("a form of the call");
                assert!(form.field(key).is_some(), "non-canonical key {key}");
            }
        }
        None => assert!(parsed.fields.is_empty()),
    }
}
