//! `show ID [--json]`: one application or message.

use super::{load_dump, to_json};
use crate::config::Config;
use crate::error::{Error, Result};

/// `show ID`: `a12`/`m12` pick an application or a message; a bare number is an
/// application when one has that id, else a message.
pub fn show(cfg: &Config, id: &str, json: bool) -> Result<()> {
    let d = load_dump(cfg)?;
    let (kind, num) = match id.strip_prefix('m').or_else(|| id.strip_prefix('M')) {
        Some(n) => ('m', n),
        None => match id.strip_prefix('a').or_else(|| id.strip_prefix('A')) {
            Some(n) => ('a', n),
            None => ('?', id),
        },
    };
    let n: i64 = num.parse().map_err(|_| {
        Error::Other(format!(
            "'{id}' 不是编号 / not an id: use 12, a12 (application) or m12 (message)"
        ))
    })?;
    let app = d.applications.iter().find(|a| a.id == n);
    let msg = d.messages.iter().find(|m| m.id == n);
    let data_dir = &cfg.storage.data_dir;
    match (kind, app, msg) {
        ('a' | '?', Some(a), _) => {
            if json {
                println!(
                    "{}",
                    to_json(&crate::report::text::application_json(&d, a, data_dir))?
                );
            } else {
                print!(
                    "{}",
                    crate::report::table::show_application(&d, a.id, data_dir).unwrap_or_default()
                );
            }
        }
        ('m' | '?', _, Some(m)) => {
            if json {
                println!(
                    "{}",
                    to_json(&crate::report::text::message_json(m, data_dir))?
                );
            } else {
                print!(
                    "{}",
                    crate::report::table::show_message(&d, m.id, data_dir).unwrap_or_default()
                );
            }
        }
        _ => {
            return Err(Error::Other(format!(
                "没有编号为 {id} 的申报或邮件 / no application or message {id}"
            )))
        }
    }
    Ok(())
}
