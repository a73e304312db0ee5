//! Attachments opened only in the parser worker: 7z and RAR archives (the decoders
//! allocate what the archive's header declares) and password-protected Office files, with the
//! passwords the mail itself gives (issue 21); a Word 97 file decrypted there is read
//! through LibreOffice like any .doc.

use super::message::form_problem;
use super::Pipeline;
use crate::domain::{DocFormat, ProblemKind};
use crate::extract::{self, Extracted, ExtractedDoc};
use crate::forms::ParsedForm;

impl Pipeline {
    /// 7z and RAR archives are opened in the parser worker, so only under its memory
    /// cap; their members join the message like zip members, nested archives included.
    pub(super) fn expand_in_worker(&self, ex: &mut Extracted, passwords: &[String]) {
        let mut i = 0;
        while i < ex.documents.len() {
            let d = &ex.documents[i];
            let format = DocFormat::from_sniffed(&d.format);
            let openable = matches!(format, DocFormat::SevenZ | DocFormat::Rar)
                && !d.bytes.is_empty()
                && !d
                    .problems
                    .iter()
                    .any(|p| crate::domain::problem::is(p, ProblemKind::CorruptAttachment));
            if openable {
                let used: u64 = ex
                    .documents
                    .iter()
                    .filter(|d| d.container.is_some())
                    .map(|d| d.size)
                    .sum();
                let budget = self.limits.max_expanded_total.saturating_sub(used);
                match self
                    .parser
                    .expand(format, &d.bytes, &self.limits, budget, passwords)
                {
                    Ok(x) => extract::add_members(ex, i, x, &self.limits),
                    Err(e) => {
                        let p = form_problem(&e);
                        if let Some(d) = ex.documents.get_mut(i) {
                            d.problems.push(p);
                        }
                    }
                }
            }
            i += 1;
        }
    }

    /// An encrypted Office file opened with a password from the mail, in the parser
    /// worker; None when no candidate opens it.
    pub(super) fn open_encrypted(
        &self,
        d: &ExtractedDoc,
        passwords: &[String],
    ) -> Option<ParsedForm> {
        match DocFormat::from_sniffed(&d.format) {
            DocFormat::Docx | DocFormat::Xlsx | DocFormat::Ole => passwords
                .iter()
                .find_map(|pw| self.parser.read_encrypted(&d.format, &d.bytes, pw).ok()),
            // Word 97 (RC4 / RC4 CryptoAPI): decrypted in the worker, then read like any
            // .doc through LibreOffice, which never runs inside the worker.
            DocFormat::Doc => {
                let plain = passwords
                    .iter()
                    .find_map(|pw| self.parser.decrypt_word97(&d.bytes, pw).ok())?;
                self.parser.read_electronic("doc", &plain).ok()
            }
            _ => None,
        }
    }
}
