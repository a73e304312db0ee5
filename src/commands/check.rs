//! `kepu-intake check`: validates the configuration and tries every connection and tool
//! for real, printing one line per check in words an IT person can act on.

mod receipts;
mod secrets;

use crate::config::{Config, ReceiptMode};
use crate::db::Db;
use crate::error::Result;

/// One check's outcome.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Check {
    pub name: String,
    pub ok: bool,
    /// Optional checks (OCR, LibreOffice) warn instead of failing.
    pub required: bool,
    pub detail: String,
}

impl Check {
    fn new(name: &str, required: bool, r: std::result::Result<String, String>) -> Check {
        let (ok, detail) = match r {
            Ok(d) => (true, d),
            Err(d) => (false, d),
        };
        Check {
            name: name.into(),
            ok,
            required,
            detail,
        }
    }
}

/// Runs every check; the config itself was validated when it was loaded.
pub async fn run(cfg: &Config) -> Vec<Check> {
    let mut out = Vec::new();
    out.push(Check::new(
        "配置文件 config",
        true,
        Ok(cfg.source.describe()),
    ));
    // Outside the systemd unit its credentials directory does not exist: read the
    // secrets from where the unit loads them, or say plainly why not.
    let (unit_cfg, notes) = secrets::outside_unit(cfg);
    let cfg = &unit_cfg;
    for n in notes {
        out.push(n);
    }
    let dir = &cfg.storage.data_dir;
    out.push(Check::new(
        "数据目录 data dir",
        true,
        std::fs::create_dir_all(dir)
            .and_then(|_| {
                let probe = dir.join(".check-write");
                std::fs::write(&probe, b"ok")?;
                std::fs::remove_file(&probe)
            })
            .map(|_| format!("{} 可写 writable", dir.display()))
            .map_err(|e| format!("{} 不可写 not writable: {e} — 检查目录权限 (chown the dir to the service user)", dir.display())),
    ));
    out.push(Check::new(
        "数据库 database",
        true,
        Db::open(&cfg.storage.db_path())
            .and_then(|db| db.schema_version())
            .map(|v| format!("{} schema v{v}", cfg.storage.db_path().display()))
            .map_err(|e| e.to_string()),
    ));
    if cfg.imap.is_configured() {
        out.push(Check::new("IMAP", true, imap(cfg).await));
    } else {
        out.push(Check::new(
            "IMAP",
            false,
            Err(
                "未配置 [imap] host — 只能用 import 导入文件 (set [imap] host/user/password_env)"
                    .into(),
            ),
        ));
    }
    if cfg.receipts.mode == ReceiptMode::Send {
        out.push(Check::new("SMTP", true, receipts::smtp(cfg).await));
    }
    if cfg.receipts.mode != ReceiptMode::Off {
        out.push(Check::new(
            "回执发件人认证 receipt sender authentication",
            false,
            Ok(receipts::auth_mode(cfg).await),
        ));
    }
    // The same look-ups the pipeline uses, so "found" here means "used" there.
    let tools = &cfg.tools;
    out.push(tool(
        crate::convert::soffice(tools),
        "LibreOffice (.doc/.wps)",
        "soffice",
        "apt-get install --no-install-recommends libreoffice-writer-nogui libreoffice-calc-nogui fonts-noto-cjk",
    ));
    if tools.ocr {
        out.push(tool(
            crate::scan::ScanOptions::detect(tools).tesseract,
            "Tesseract OCR (扫描件识别)",
            "tesseract",
            "apt-get install tesseract-ocr tesseract-ocr-chi-sim",
        ));
    } else {
        // Switched off on purpose: not a missing tool, but worth a warning, since scans
        // from other mails then match by sender only and mostly wait for review.
        out.push(Check::new(
            "Tesseract OCR (扫描件识别)",
            false,
            Err(
                "已关闭 switched off ([tools] ocr = false): 扫描件只检查印章，不识别文字；\
                 与电子版分开发来的扫描件多需人工匹配 (kepu-intake match)"
                    .into(),
            ),
        ));
    }
    out.push(tool(
        crate::convert::pdftotext(tools),
        "poppler (PDF)",
        "pdftotext",
        "apt-get install poppler-utils poppler-data",
    ));
    out.push(sandbox());
    out
}

/// Whether external tools run in the box, and by which mechanism: the same probe the
/// tools' spawns use. A warning, not a failure: without it the tools still run.
pub fn sandbox() -> Check {
    use crate::isolate::sandbox::{self, Mechanism};
    let st = sandbox::status();
    let what = "隔离 sandbox (LibreOffice/poppler/Tesseract)";
    let limits = "无网络、无环境变量中的密钥、限内存与 CPU 时间 \
                  (no network, no secrets in the environment, memory and CPU caps)";
    let r = match st.mechanism {
        Mechanism::UserNetNamespace | Mechanism::NetNamespace => {
            Ok(format!("{}: {limits}", st.mechanism.label_zh()))
        }
        Mechanism::Off => Err(format!(
            "{} — 外部程序可访问网络 (tools run with network); 去掉 {}=off 即恢复",
            st.mechanism.label_zh(),
            sandbox::SWITCH_ENV
        )),
        Mechanism::Unavailable => Err(format!(
            "{} ({}) — 外部程序仍会运行，但可访问网络 (tools still run, WITH network); \
             在 systemd 单元中设 RestrictNamespaces=user net，或允许非特权用户命名空间 \
             (sysctl user.max_user_namespaces > 0)",
            st.mechanism.label_zh(),
            st.detail
        )),
    };
    Check::new(what, false, r)
}

fn tool(found: Option<std::path::PathBuf>, what: &str, name: &str, install: &str) -> Check {
    Check::new(
        what,
        false,
        found
            .map(|p| format!("{}", p.display()))
            .ok_or_else(|| format!("未找到 {name} — 安装 install: {install}")),
    )
}

async fn imap(cfg: &Config) -> std::result::Result<String, String> {
    let c = crate::fetch::open(&cfg.imap)
        .await
        .map_err(|e| e.to_string())?;
    let mut c = c;
    let idle = c.idle;
    let v = c.uidvalidity;
    let _ = c.session.logout().await;
    Ok(format!(
        "{} 登录/ID/EXAMINE {} 成功 ok (只读 read-only, UIDVALIDITY {v}); IDLE {}",
        cfg.imap.host,
        cfg.imap.mailbox,
        if idle {
            "支持 offered"
        } else {
            "不支持，将每隔 poll_interval_s 轮询 not offered, polling"
        }
    ))
}

/// Prints the checks; Err when a required one failed.
pub fn render(checks: &[Check]) -> (String, bool) {
    let mut s = String::new();
    let mut ok = true;
    for c in checks {
        let mark = if c.ok {
            "✓"
        } else if c.required {
            ok = false;
            "✗"
        } else {
            "!"
        };
        s.push_str(&format!("{mark} {}: {}\n", c.name, c.detail));
    }
    (s, ok)
}

/// `check [--json]`: every check, printed; an error when a required one failed.
pub async fn command(cfg: &Config, json: bool) -> Result<()> {
    let checks = run(cfg).await;
    let (text, ok) = render(&checks);
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&checks).unwrap_or_default()
        );
    } else {
        print!("{text}");
    }
    if ok {
        Ok(())
    } else {
        Err(crate::Error::Other(
            "检查未通过 some required checks failed (see above)".into(),
        ))
    }
}
