//! Operator accounts: Argon2id password hashes, login sessions with a random id and a
//! CSRF token each, and login throttling per account and per client address. Sessions
//! and failures are kept in the database so every `serve` process agrees.

use crate::db::accounts::SessionRow;
use crate::db::office::NewAudit;
use crate::db::Db;
use crate::error::{Error, Result};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use std::sync::OnceLock;

/// How long a login lasts.
pub const SESSION_HOURS: i64 = 12;
/// Failed logins allowed per account, and per client address, within [`THROTTLE_MINUTES`].
pub const MAX_FAILS_PER_USER: usize = 5;
pub const MAX_FAILS_PER_ADDR: usize = 20;
pub const THROTTLE_MINUTES: i64 = 15;
/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 8;

/// A logged-in operator.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub user: String,
    /// The token every form of this session must carry.
    pub csrf: String,
}

/// How a login attempt ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Login {
    /// The new session's id (for the cookie) and the session.
    Ok {
        id: String,
        session: Session,
    },
    Wrong,
    /// Too many failures recently: try again after this many minutes.
    Throttled {
        minutes: i64,
    },
}

/// `n` random bytes, hex-encoded (session ids, CSRF tokens, salts).
pub fn random_hex(n: usize) -> Result<String> {
    let mut b = vec![0u8; n];
    getrandom::getrandom(&mut b)
        .map_err(|e| Error::Other(format!("系统随机数不可用 / no OS randomness: {e}")))?;
    Ok(hex::encode(b))
}

fn hash_password(password: &str) -> Result<String> {
    let mut salt = [0u8; 16];
    getrandom::getrandom(&mut salt)
        .map_err(|e| Error::Other(format!("系统随机数不可用 / no OS randomness: {e}")))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| Error::Other(format!("salt: {e}")))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Other(format!("密码哈希失败 / password hash: {e}")))
}

fn verify(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// A hash no password matches, verified for unknown accounts so that answering
/// "wrong" takes as long whether the account exists or not.
fn dummy_hash() -> &'static str {
    static H: OnceLock<String> = OnceLock::new();
    H.get_or_init(|| hash_password("not-an-account").unwrap_or_default())
}

fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.chars().count() <= 64
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == ':');
    if ok {
        Ok(())
    } else {
        Err(Error::Other(format!(
            "账号名 '{name}' 不可用：1–64 个字符，不含空格和冒号 / account names are 1–64 characters without spaces or ':'"
        )))
    }
}

fn check_password(password: &str) -> Result<()> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(Error::Other(format!(
            "密码太短：至少 {MIN_PASSWORD_CHARS} 个字符 / the password needs at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    Ok(())
}

fn user_audit(by: &str, name: &str, detail: &str) -> NewAudit {
    NewAudit {
        user: by.to_string(),
        action: super::AuditAction::User,
        target: super::Target::User(name.to_string()).to_string(),
        detail: detail.to_string(),
    }
}

/// `user add NAME`: a new account with `password`.
pub fn add_user(db: &mut Db, name: &str, password: &str, by: &str) -> Result<()> {
    check_name(name)?;
    check_password(password)?;
    let hash = hash_password(password)?;
    if !db.user_put(name, &hash, true, user_audit(by, name, "新建账号"))? {
        return Err(Error::Other(format!(
            "账号 {name} 已存在 / account exists: 改密码用 `kepu-intake user passwd {name}`"
        )));
    }
    Ok(())
}

/// `user passwd NAME`: a new password; the account's sessions end.
pub fn set_password(db: &mut Db, name: &str, password: &str, by: &str) -> Result<()> {
    check_password(password)?;
    let hash = hash_password(password)?;
    if !db.user_put(name, &hash, false, user_audit(by, name, "修改密码"))? {
        return Err(no_user(name));
    }
    Ok(())
}

/// `user remove NAME`: the account and its sessions are gone.
pub fn remove_user(db: &mut Db, name: &str, by: &str) -> Result<()> {
    if !db.user_remove(name, user_audit(by, name, "删除账号"))? {
        return Err(no_user(name));
    }
    Ok(())
}

fn no_user(name: &str) -> Error {
    Error::Other(format!(
        "没有账号 {name} / no such account: `kepu-intake user list` 列出全部账号"
    ))
}

fn now_and(minutes: i64) -> (String, String) {
    let now = crate::time::now();
    (
        crate::time::fmt(&now),
        crate::time::fmt(&(now + chrono::Duration::minutes(minutes))),
    )
}

/// Checks a password and opens a session; failures are counted per account and per
/// client address (`addr`), and refused for a while once there are too many.
pub fn login(db: &mut Db, user: &str, password: &str, addr: &str) -> Result<Login> {
    let (now, since) = now_and(-THROTTLE_MINUTES);
    let ukey = format!("u:{user}");
    let akey = format!("ip:{addr}");
    if db.login_failures_since(&ukey, &since)? >= MAX_FAILS_PER_USER
        || db.login_failures_since(&akey, &since)? >= MAX_FAILS_PER_ADDR
    {
        tracing::warn!(user, addr, "web: login refused, too many failures");
        return Ok(Login::Throttled {
            minutes: THROTTLE_MINUTES,
        });
    }
    let hash = db.user_hash(user)?;
    let ok = verify(password, hash.as_deref().unwrap_or(dummy_hash())) && hash.is_some();
    if !ok {
        tracing::warn!(user, addr, "web: wrong user or password");
        db.login_failed(&[&ukey, &akey], &now, &since)?;
        return Ok(Login::Wrong);
    }
    db.login_failures_clear(&ukey)?;
    let id = random_hex(32)?;
    let session = Session {
        user: user.to_string(),
        csrf: random_hex(32)?,
    };
    let (_, expires) = now_and(SESSION_HOURS * 60);
    db.session_insert(
        &crate::store::sha256_hex(id.as_bytes()),
        &SessionRow {
            user: session.user.clone(),
            csrf: session.csrf.clone(),
            expires_at: expires,
        },
        &now,
    )?;
    tracing::info!(user, addr, "web: logged in");
    Ok(Login::Ok { id, session })
}

/// The live session with this id, if any.
pub fn session(db: &Db, id: &str) -> Result<Option<Session>> {
    if id.len() != 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let (now, _) = now_and(0);
    Ok(db
        .session_get(&crate::store::sha256_hex(id.as_bytes()), &now)?
        .map(|r| Session {
            user: r.user,
            csrf: r.csrf,
        }))
}

/// Ends the session with this id.
pub fn logout(db: &Db, id: &str) -> Result<()> {
    let (now, _) = now_and(0);
    db.session_delete(&crate::store::sha256_hex(id.as_bytes()), &now)
}

/// Compares without stopping at the first differing byte (CSRF tokens, tokens).
pub fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> (tempfile::TempDir, Db) {
        let d = tempfile::tempdir().unwrap();
        let db = Db::open(&d.path().join("x.db")).unwrap();
        (d, db)
    }

    #[test]
    fn argon2id_hash_verifies_only_the_right_password() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify("correct horse", &h));
        assert!(!verify("correct hors", &h));
    }

    #[test]
    fn login_session_logout_and_throttling() {
        let (_d, mut db) = db();
        add_user(&mut db, "wang", "passw0rd-1", "admin").unwrap();
        assert!(add_user(&mut db, "wang", "passw0rd-2", "admin").is_err());
        assert!(add_user(&mut db, "li", "short", "admin").is_err());
        let Login::Ok { id, session: s } =
            login(&mut db, "wang", "passw0rd-1", "10.0.0.1").unwrap()
        else {
            panic!("right password refused");
        };
        assert_eq!(session(&db, &id).unwrap(), Some(s.clone()));
        logout(&db, &id).unwrap();
        assert_eq!(session(&db, &id).unwrap(), None);
        for _ in 0..MAX_FAILS_PER_USER {
            assert_eq!(
                login(&mut db, "wang", "nope-nope", "10.0.0.2").unwrap(),
                Login::Wrong
            );
        }
        // Now even the right password waits, from any address.
        assert!(matches!(
            login(&mut db, "wang", "passw0rd-1", "10.0.0.3").unwrap(),
            Login::Throttled { .. }
        ));
        // Per address: many accounts guessed from one address.
        add_user(&mut db, "zhao", "passw0rd-3", "admin").unwrap();
        for i in 0..MAX_FAILS_PER_ADDR {
            let _ = login(&mut db, &format!("guess{i}"), "x", "10.0.0.9").unwrap();
        }
        assert!(matches!(
            login(&mut db, "zhao", "passw0rd-3", "10.0.0.9").unwrap(),
            Login::Throttled { .. }
        ));
        assert!(matches!(
            login(&mut db, "zhao", "passw0rd-3", "10.0.0.10").unwrap(),
            Login::Ok { .. }
        ));
        let log = db.audit_log().unwrap();
        assert_eq!(log.len(), 2, "{log:?}");
        assert_eq!(
            (log[0].action.as_str(), log[0].target.as_str()),
            ("user", "u:wang")
        );
    }

    #[test]
    fn a_new_password_or_removal_ends_the_sessions() {
        let (_d, mut db) = db();
        add_user(&mut db, "wang", "passw0rd-1", "admin").unwrap();
        let Login::Ok { id, .. } = login(&mut db, "wang", "passw0rd-1", "a").unwrap() else {
            panic!()
        };
        set_password(&mut db, "wang", "passw0rd-2", "admin").unwrap();
        assert_eq!(
            session(&db, &id).unwrap(),
            None,
            "a new password ends the sessions"
        );
        let Login::Ok { id, .. } = login(&mut db, "wang", "passw0rd-2", "a").unwrap() else {
            panic!()
        };
        remove_user(&mut db, "wang", "admin").unwrap();
        assert_eq!(session(&db, &id).unwrap(), None);
        assert!(remove_user(&mut db, "wang", "admin").is_err());
    }
}
