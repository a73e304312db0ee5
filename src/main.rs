//! The `kepu-intake` binary: parses the command line, sets up logging and hands over to
//! the library. Errors end as one line on stderr and a non-zero exit status.

use anyhow::Context;
use clap::{Parser, Subcommand};
use kepu_intake::commands::{self, ListFilter};
use kepu_intake::config::Config;
use std::path::PathBuf;
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
#[command(
    name = "kepu-intake",
    version,
    about = "唐山市科普资源助推“双减”申报邮箱的收件处理 / intake of the science-education call's submission mailbox"
)]
struct Cli {
    /// Config file (else $KEPU_CONFIG, else config/kepu-intake.toml, else
    /// /etc/kepu-intake/kepu-intake.toml, else built-in defaults; `check` says which).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Watch the mailbox: catch up, then wait for new mail until SIGTERM/Ctrl-C.
    Run {
        /// Catch up, finish all processing and receipts due, then exit.
        #[arg(long)]
        once: bool,
    },
    /// Take in .eml files, directories of them, Maildir folders and mbox files.
    Import {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Add the files to message ID as if attached to it (a downloaded 超大附件, a
        /// file brought on a USB stick) instead of importing mail.
        #[arg(long, value_name = "MESSAGE_ID")]
        into: Option<String>,
    },
    /// Counts: messages by category, applications by form × status, late, problems.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Applications, optionally filtered.
    List {
        /// A form key of the call (2022: expert | resource | pilot_district | pilot_school)
        #[arg(long)]
        form: Option<String>,
        /// complete | missing_scan | missing_electronic | unstamped_scan | invalid
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        late: bool,
        /// At most N rows (the table shows the first 200 unless --all or --limit)
        #[arg(long, value_name = "N")]
        limit: Option<usize>,
        /// Every row in the table (--json always gives every row)
        #[arg(long, conflicts_with = "limit")]
        all: bool,
        #[arg(long)]
        json: bool,
    },
    /// One application (12 or a12) or message (m12) with documents, fields, problems, files.
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Summary sheets for the office.
    Export {
        /// Excel workbook to write.
        #[arg(long, required_unless_present_any = ["csv", "zip"])]
        xlsx: Option<PathBuf>,
        /// Directory for CSV files (UTF-8 with BOM).
        #[arg(long)]
        csv: Option<PathBuf>,
        /// Zip of the accepted (已受理) applications' files, 单位/附件N-表名-电子版.docx.
        #[arg(long)]
        zip: Option<PathBuf>,
    },
    /// Re-run parsing and matching on stored raw mail.
    Reprocess {
        #[arg(long, conflicts_with = "ids")]
        all: bool,
        ids: Vec<i64>,
    },
    /// Set or undo the match of a scan to an electronic form.
    Match {
        scan: i64,
        #[arg(required_unless_present = "unmatch")]
        electronic: Option<i64>,
        #[arg(long)]
        unmatch: bool,
    },
    /// The operators' web page.
    Serve,
    /// Copy the data dir (database snapshot + stored mail) to DEST, safe while running.
    Backup { dest: PathBuf },
    /// Receipts held, waiting or failed; --retry ID sends one again, --approve ID
    /// releases a held one.
    #[command(group(clap::ArgGroup::new("receipt_write").args(["retry", "approve"])))]
    Receipts {
        #[arg(long, conflicts_with = "approve")]
        retry: Option<i64>,
        /// Release held receipt ID (the sender could not be authenticated).
        #[arg(long)]
        approve: Option<i64>,
        /// Who approves or retries (default: the OS user); recorded in the receipt row
        /// and the audit log.
        #[arg(long, requires = "receipt_write")]
        by: Option<String>,
    },
    /// Check the configuration, the mail servers and the helper tools.
    Check {
        #[arg(long)]
        json: bool,
    },
    /// The whole intake state as JSON.
    Dump {
        #[arg(long)]
        json: bool,
    },
    /// The expected units and what each has sent; --assign APP UNIT decides an attribution.
    Roster {
        #[arg(long)]
        json: bool,
        /// Attribute application APP to roster UNIT (`-` = no roster unit, e.g. 市直).
        #[arg(long, num_args = 2, value_names = ["APP", "UNIT"])]
        assign: Option<Vec<String>>,
        /// Who decides (default: the OS user).
        #[arg(long)]
        by: Option<String>,
    },
    /// The office's decision on an application: 已受理 / 退回 / 待审核.
    #[command(group(clap::ArgGroup::new("decision").required(true).args(["accept", "return_", "pending"])))]
    Review {
        /// Application id (12 or a12).
        id: String,
        #[arg(long)]
        accept: bool,
        #[arg(long = "return")]
        return_: bool,
        #[arg(long)]
        pending: bool,
        #[arg(long)]
        note: Option<String>,
        /// Who decides (default: the OS user).
        #[arg(long)]
        by: Option<String>,
    },
    /// Reminders due (drafts); --send approves the listed (or all) and sends them.
    Remind {
        #[arg(long)]
        json: bool,
        #[arg(long)]
        send: bool,
        /// Reminder ids to approve with --send (default: all due).
        #[arg(requires = "send")]
        ids: Vec<i64>,
        /// Who approves (default: the OS user).
        #[arg(long)]
        by: Option<String>,
    },
    /// Accept a late application anyway (the late flag stays, the reason is shown).
    Late {
        /// Application id (12 or a12).
        id: String,
        #[arg(long, value_name = "REASON", required_unless_present = "unexcuse")]
        excuse: Option<String>,
        #[arg(long, conflicts_with = "excuse")]
        unexcuse: bool,
        #[arg(long)]
        by: Option<String>,
    },
    /// Hide a junk message from counts (kept on disk; --restore brings it back).
    Remove {
        /// Message id (12 or m12).
        id: String,
        #[arg(long)]
        restore: bool,
        #[arg(long, conflicts_with = "restore")]
        reason: Option<String>,
        #[arg(long)]
        by: Option<String>,
    },
    /// Operator accounts for the web page (passwords are read from stdin).
    User {
        #[command(subcommand)]
        cmd: UserSub,
    },
    /// Parse one document from stdin in isolation (used internally).
    #[command(name = "__parse-doc", hide = true)]
    ParseDoc {
        #[arg(long)]
        format: String,
    },
    /// Parse framed documents from stdin until it closes (used internally).
    #[command(name = "__parse-worker", hide = true)]
    ParseWorker {
        #[arg(long, default_value_t = kepu_intake::isolate::serve::DEFAULT_ALARM_S)]
        alarm_s: u32,
    },
}

#[derive(Subcommand)]
enum UserSub {
    /// A new account; the password is one line on stdin.
    Add { name: String },
    /// Every account.
    List,
    /// Remove an account (its logins end).
    Remove { name: String },
    /// A new password, one line on stdin (the account's logins end).
    Passwd { name: String },
}

fn main() {
    // Before anything is created: no file of ours is world-readable (issue 17).
    kepu_intake::store::restrict_umask();
    let cli = Cli::parse();
    if let Cmd::ParseDoc { format } = &cli.cmd {
        std::process::exit(kepu_intake::isolate::child_main(format));
    }
    if let Cmd::ParseWorker { alarm_s } = &cli.cmd {
        std::process::exit(kepu_intake::isolate::serve::worker_main(*alarm_s));
    }
    match real_main(cli) {
        Ok(()) => {}
        Err(e) => {
            let msg = format!("{e:#}").replace('\n', " ");
            eprintln!("kepu-intake: {msg}");
            std::process::exit(1);
        }
    }
}

fn init_tracing(cfg: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("KEPU_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if cfg.log.format == "json" {
        let _ = b.json().try_init();
    } else {
        let _ = b.try_init();
    }
}

/// Cancels the token on SIGTERM or Ctrl-C: loops finish their current message and stop.
fn shutdown_on_signals(token: CancellationToken) {
    tokio::spawn(async move {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let mut term = match signal(SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return,
            };
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutdown requested");
        token.cancel();
    });
}

fn real_main(cli: Cli) -> anyhow::Result<()> {
    let cfg = Config::load(cli.config.as_deref())?;
    init_tracing(&cfg);
    tracing::debug!(config = %cfg.source.describe(), "config");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(async move {
        let token = CancellationToken::new();
        shutdown_on_signals(token.clone());
        match cli.cmd {
            Cmd::Run { once } => commands::run(&cfg, once, token).await?,
            Cmd::Import { paths, into: None } => commands::import(&cfg, &paths, token).await?,
            Cmd::Import {
                paths,
                into: Some(id),
            } => commands::import_into(&cfg, &id, &paths, token).await?,
            Cmd::Status { json } => commands::status(&cfg, json)?,
            Cmd::List {
                form,
                status,
                late,
                limit,
                all,
                json,
            } => commands::list(
                &cfg,
                &ListFilter {
                    form,
                    status,
                    late,
                    limit,
                    all,
                },
                json,
            )?,
            Cmd::Show { id, json } => commands::show(&cfg, &id, json)?,
            Cmd::Export { xlsx, csv, zip } => {
                commands::export(&cfg, xlsx.as_deref(), csv.as_deref(), zip.as_deref())?
            }
            Cmd::Reprocess { all, ids } => commands::reprocess(&cfg, all, &ids, &token)?,
            Cmd::Match {
                scan,
                electronic,
                unmatch,
            } => commands::set_match(&cfg, scan, if unmatch { None } else { electronic })?,
            Cmd::Serve => commands::serve(&cfg, token).await?,
            Cmd::Backup { dest } => commands::backup::command(&cfg, &dest)?,
            Cmd::Receipts { retry, approve, by } => {
                commands::receipts::command(&cfg, retry, approve, by)?
            }
            Cmd::Check { json } => commands::check::command(&cfg, json).await?,
            Cmd::Dump { json: _ } => commands::dump(&cfg)?,
            Cmd::Roster { json, assign, by } => match assign.as_deref() {
                Some([app, unit]) => {
                    let app: i64 = app
                        .trim_start_matches(['a', 'A'])
                        .parse()
                        .with_context(|| format!("--assign {app}: 应为申报编号，如 12 或 a12"))?;
                    commands::roster::assign_command(&cfg, app, unit, by.as_deref())?
                }
                _ => commands::roster::roster(&cfg, json)?,
            },
            Cmd::Remind {
                json,
                send,
                ids,
                by,
            } => commands::roster::remind(&cfg, json, send, &ids, by.as_deref(), &token).await?,
            Cmd::Review {
                id,
                accept,
                return_,
                pending: _,
                note,
                by,
            } => {
                use kepu_intake::office::ReviewState;
                let state = match (accept, return_) {
                    (true, _) => ReviewState::Accepted,
                    (_, true) => ReviewState::Returned,
                    _ => ReviewState::Pending,
                };
                commands::review::review(&cfg, &id, state, note.as_deref(), by.as_deref())?
            }
            Cmd::Late {
                id,
                excuse,
                unexcuse: _,
                by,
            } => commands::review::late(&cfg, &id, excuse.as_deref(), by.as_deref())?,
            Cmd::Remove {
                id,
                restore,
                reason,
                by,
            } => commands::review::remove(&cfg, &id, restore, reason.as_deref(), by.as_deref())?,
            Cmd::User { cmd } => {
                use commands::user::UserCmd;
                let cmd = match cmd {
                    UserSub::Add { name } => UserCmd::Add(name),
                    UserSub::List => UserCmd::List,
                    UserSub::Remove { name } => UserCmd::Remove(name),
                    UserSub::Passwd { name } => UserCmd::Passwd(name),
                };
                commands::user::command(&cfg, &cmd)?
            }
            Cmd::ParseDoc { .. } | Cmd::ParseWorker { .. } => {}
        }
        Ok(())
    })
}
