//! `kepu-intake user add|list|remove|passwd`: the operators' web accounts. Passwords
//! are read as one line from stdin (never from the command line, where `ps` and the
//! shell history would show them) and stored as Argon2id hashes.

use crate::config::Config;
use crate::db::Db;
use crate::error::{Error, Result};
use crate::office::{accounts, os_user};
use std::io::BufRead;

/// What `user` does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserCmd {
    Add(String),
    List,
    Remove(String),
    Passwd(String),
}

fn read_password() -> Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| Error::io(std::path::Path::new("<stdin>"), e))?;
    let pw = line.trim_end_matches(['\r', '\n']).to_string();
    if pw.is_empty() {
        return Err(Error::Other(
            "没有从标准输入读到密码 / no password on stdin: 例如 `printf '%s\\n' '密码' | kepu-intake user add wang`"
                .into(),
        ));
    }
    Ok(pw)
}

/// Runs one `user` subcommand.
pub fn command(cfg: &Config, cmd: &UserCmd) -> Result<()> {
    let mut db = Db::open(&cfg.storage.db_path())?;
    let by = os_user();
    match cmd {
        UserCmd::Add(name) => {
            let pw = read_password()?;
            accounts::add_user(&mut db, name, &pw, &by)?;
            println!("已新建账号 {name}");
        }
        UserCmd::Passwd(name) => {
            let pw = read_password()?;
            accounts::set_password(&mut db, name, &pw, &by)?;
            println!("已修改账号 {name} 的密码（其登录已全部退出）");
        }
        UserCmd::Remove(name) => {
            accounts::remove_user(&mut db, name, &by)?;
            println!("已删除账号 {name}");
        }
        UserCmd::List => {
            let users = db.users()?;
            if users.is_empty() {
                println!("还没有账号。新建：printf '%s\\n' '密码' | kepu-intake user add 名字");
            }
            for (name, created) in users {
                println!(
                    "{name}\t创建于 {}",
                    crate::time::parse_rfc3339(&created)
                        .map_or(created.clone(), |t| crate::time::fmt_human(&t))
                );
            }
        }
    }
    Ok(())
}
