//! Passwords in the configuration: named by an environment variable, a file or a
//! command, never written in the config file itself.

use crate::error::{Error, Result};
use std::path::PathBuf;

/// Where a secret comes from. Exactly one is used, in this order.
#[derive(Debug, Clone, Default)]
pub struct SecretSource {
    pub password_env: Option<String>,
    pub password_file: Option<PathBuf>,
    pub password_command: Option<Vec<String>>,
}

impl SecretSource {
    pub fn is_set(&self) -> bool {
        self.password_env.is_some()
            || self.password_file.is_some()
            || self.password_command.is_some()
    }

    /// Reads the secret. `what` names the section for the error message.
    pub fn resolve(&self, what: &str) -> Result<String> {
        if let Some(var) = &self.password_env {
            return std::env::var(var).map_err(|_| {
                Error::Config(format!(
                    "{what}.password_env: 环境变量 {var} 未设置 / environment variable {var} is not set"
                ))
            });
        }
        if let Some(path) = &self.password_file {
            let s = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
            return Ok(s.trim_end_matches(['\r', '\n']).to_string());
        }
        if let Some(cmd) = &self.password_command {
            let (prog, args) = cmd
                .split_first()
                .ok_or_else(|| Error::Config(format!("{what}.password_command: empty command")))?;
            let out = std::process::Command::new(prog)
                .args(args)
                .output()
                .map_err(|e| {
                    Error::Config(format!("{what}.password_command: cannot run {prog}: {e}"))
                })?;
            if !out.status.success() {
                return Err(Error::Config(format!(
                    "{what}.password_command: {prog} exited with {}",
                    out.status
                )));
            }
            return Ok(String::from_utf8_lossy(&out.stdout)
                .trim_end_matches(['\r', '\n'])
                .to_string());
        }
        Err(Error::Config(format!(
            "{what}: no password source; set password_env, password_file or password_command"
        )))
    }
}
