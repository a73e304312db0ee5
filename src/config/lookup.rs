//! Which config file a command uses (contract, "Finding the config"): `--config FILE`,
//! else `$KEPU_CONFIG`, else `config/kepu-intake.toml` in the working directory, else
//! the installed `/etc/kepu-intake/kepu-intake.toml`, else built-in defaults. So a
//! plain `kepu-intake status` on the installed machine reads the installed config
//! instead of creating `./data` beside wherever the operator stands.

use std::path::{Path, PathBuf};

/// The environment variable naming the config file.
pub const CONFIG_ENV: &str = "KEPU_CONFIG";
/// The config `deploy/install.sh` installs.
pub const SYSTEM_CONFIG_PATH: &str = "/etc/kepu-intake/kepu-intake.toml";

/// Where the config came from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ConfigSource {
    /// `--config FILE`.
    Flag(PathBuf),
    /// `$KEPU_CONFIG`.
    Env(PathBuf),
    /// `config/kepu-intake.toml` in the working directory.
    WorkingDir(PathBuf),
    /// `/etc/kepu-intake/kepu-intake.toml`.
    System(PathBuf),
    /// No file: built-in defaults.
    #[default]
    Defaults,
}

impl ConfigSource {
    /// The file to read, if any.
    pub fn path(&self) -> Option<&Path> {
        match self {
            ConfigSource::Flag(p)
            | ConfigSource::Env(p)
            | ConfigSource::WorkingDir(p)
            | ConfigSource::System(p) => Some(p),
            ConfigSource::Defaults => None,
        }
    }

    /// One line for `check` and the logs: the file and why it was chosen.
    pub fn describe(&self) -> String {
        match self {
            ConfigSource::Flag(p) => format!("{}（--config）", p.display()),
            ConfigSource::Env(p) => format!("{}（环境变量 {CONFIG_ENV}）", p.display()),
            ConfigSource::WorkingDir(p) => format!("{}（当前目录）", p.display()),
            ConfigSource::System(p) => format!("{}（安装的配置）", p.display()),
            ConfigSource::Defaults => {
                "未找到配置文件，使用内置默认值（数据在 ./data，不收信，不发回执）/ built-in defaults"
                    .to_string()
            }
        }
    }

    /// The lookup of the contract. `flag` and `$KEPU_CONFIG` name a file that must
    /// exist (reading it reports the error); the other two are used when present.
    pub fn find(flag: Option<&Path>) -> ConfigSource {
        Self::find_with(
            flag,
            std::env::var_os(CONFIG_ENV)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
            Path::new(super::DEFAULT_CONFIG_PATH),
            Path::new(SYSTEM_CONFIG_PATH),
        )
    }

    fn find_with(
        flag: Option<&Path>,
        env: Option<PathBuf>,
        working: &Path,
        system: &Path,
    ) -> ConfigSource {
        if let Some(p) = flag {
            return ConfigSource::Flag(p.to_path_buf());
        }
        if let Some(p) = env {
            return ConfigSource::Env(p);
        }
        if working.exists() {
            return ConfigSource::WorkingDir(working.to_path_buf());
        }
        if system.exists() {
            return ConfigSource::System(system.to_path_buf());
        }
        ConfigSource::Defaults
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_order_flag_env_working_dir_system_defaults() {
        let d = tempfile::tempdir().unwrap();
        let working = d.path().join("config/kepu-intake.toml");
        let system = d.path().join("etc/kepu-intake.toml");
        let flag = d.path().join("mine.toml");
        let env = d.path().join("env.toml");
        let find = |f: Option<&Path>, e: Option<&Path>| {
            ConfigSource::find_with(f, e.map(Path::to_path_buf), &working, &system)
        };
        assert_eq!(find(None, None), ConfigSource::Defaults);
        std::fs::create_dir_all(system.parent().unwrap()).unwrap();
        std::fs::write(&system, "").unwrap();
        assert_eq!(find(None, None), ConfigSource::System(system.clone()));
        std::fs::create_dir_all(working.parent().unwrap()).unwrap();
        std::fs::write(&working, "").unwrap();
        assert_eq!(find(None, None), ConfigSource::WorkingDir(working.clone()));
        assert_eq!(find(None, Some(&env)), ConfigSource::Env(env.clone()));
        assert_eq!(
            find(Some(&flag), Some(&env)),
            ConfigSource::Flag(flag.clone())
        );
        assert!(ConfigSource::System(system)
            .describe()
            .contains("安装的配置"));
    }
}
