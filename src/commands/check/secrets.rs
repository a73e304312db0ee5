//! `check` outside the systemd unit. The installed config names the mail password as
//! `/run/credentials/kepu-intake.service/imap-password`, a file systemd creates only
//! inside the running service (`LoadCredential=`). Run by hand, `check` reads the
//! credential's source instead — the path the unit's `LoadCredential=NAME:PATH` line
//! names, else `/etc/kepu-intake/NAME` where `deploy/install.sh` puts it — and says
//! plainly when it cannot (usually: not root).

use super::Check;
use crate::config::Config;
use std::path::{Path, PathBuf};

const CREDENTIALS: &str = "/run/credentials/";
const UNIT_DIRS: &[&str] = &[
    "/etc/systemd/system",
    "/lib/systemd/system",
    "/usr/lib/systemd/system",
];

/// `cfg` with credential paths that exist only inside the unit replaced by their
/// source, and one note per replacement (or per secret that cannot be read).
pub fn outside_unit(cfg: &Config) -> (Config, Vec<Check>) {
    let mut out = cfg.clone();
    let mut notes = Vec::new();
    if let Some(p) = cfg.imap.password_file.as_deref() {
        if let Some((src, note)) = replace(p, "IMAP 密码 password") {
            out.imap.password_file = src;
            notes.push(note);
        }
    }
    if let Some(p) = cfg.smtp.password_file.as_deref() {
        if let Some((src, note)) = replace(p, "SMTP 密码 password") {
            out.smtp.password_file = src;
            notes.push(note);
        }
    }
    (out, notes)
}

/// For a credential path that does not exist here: its source and a note saying so.
fn replace(path: &Path, what: &str) -> Option<(Option<PathBuf>, Check)> {
    let rest = path.to_str()?.strip_prefix(CREDENTIALS)?;
    if path.exists() {
        return None; // inside the unit: use it as is
    }
    let (unit, name) = rest.split_once('/')?;
    let source =
        unit_source(unit, name).unwrap_or_else(|| Path::new("/etc/kepu-intake").join(name));
    let check = match std::fs::read(&source) {
        Ok(_) => Check {
            name: what.into(),
            ok: true,
            required: false,
            detail: format!(
                "{} 只在 systemd 服务内存在；已改读其来源 {} / read from the credential's source outside the unit",
                path.display(),
                source.display()
            ),
        },
        Err(e) => Check {
            name: what.into(),
            ok: false,
            required: true,
            detail: format!(
                "{} 只在 systemd 服务 {unit} 内存在，其来源 {} 无法读取（{e}）。请用 sudo 运行 `kepu-intake check`，\
或 `systemctl restart {unit}` 后用 `journalctl -u {unit}` 查看连接结果 / run check as root",
                path.display(),
                source.display()
            ),
        },
    };
    Some((Some(source), check))
}

/// The `PATH` of `LoadCredential=NAME:PATH` in the installed unit file, if found.
fn unit_source(unit: &str, name: &str) -> Option<PathBuf> {
    for dir in UNIT_DIRS {
        let Ok(text) = std::fs::read_to_string(Path::new(dir).join(unit)) else {
            continue;
        };
        if let Some(p) = load_credential(&text, name) {
            return Some(p);
        }
    }
    None
}

fn load_credential(unit_text: &str, name: &str) -> Option<PathBuf> {
    unit_text.lines().find_map(|l| {
        let v = l.trim().strip_prefix("LoadCredential=")?;
        let (n, p) = v.split_once(':')?;
        (n.trim() == name).then(|| PathBuf::from(p.trim()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_units_credential_source() {
        let unit = "[Service]\nLoadCredential=imap-password:/etc/kepu-intake/imap-password\n";
        assert_eq!(
            load_credential(unit, "imap-password"),
            Some(PathBuf::from("/etc/kepu-intake/imap-password"))
        );
        assert_eq!(load_credential(unit, "smtp-password"), None);
    }

    #[test]
    fn a_credential_path_outside_the_unit_is_replaced_and_said() {
        let mut cfg = Config::default();
        cfg.imap.password_file = Some(PathBuf::from(
            "/run/credentials/kepu-test-nounit.service/no-such-secret",
        ));
        let (out, notes) = outside_unit(&cfg);
        assert_eq!(
            out.imap.password_file,
            Some(PathBuf::from("/etc/kepu-intake/no-such-secret"))
        );
        assert_eq!(notes.len(), 1);
        assert!(
            !notes[0].ok && notes[0].detail.contains("sudo"),
            "{:?}",
            notes[0]
        );
        // An ordinary file is left alone.
        cfg.imap.password_file = Some(PathBuf::from("/etc/hostname"));
        assert!(outside_unit(&cfg).1.is_empty());
    }
}
