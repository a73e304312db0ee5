//! `receipts [--retry ID | --approve ID [--by NAME]]`: the outbox, and an operator's
//! requeue or approval.

use super::open_db;
use crate::config::Config;
use crate::error::Result;

/// `kepu-intake receipts [--retry ID | --approve ID [--by NAME]]`.
pub fn command(
    cfg: &Config,
    retry: Option<i64>,
    approve: Option<i64>,
    by: Option<String>,
) -> Result<()> {
    let mut db = open_db(cfg)?;
    // Both writes are audited under `by` (`crate::office`), like every operator write.
    let by = || by.clone().unwrap_or_else(crate::office::os_user);
    if let Some(id) = retry {
        crate::office::retry_receipt(&mut db, id, &by())?;
        println!("回执 {id} 已重新排队 requeued; it goes out with the next `run`");
        return Ok(());
    }
    if let Some(id) = approve {
        let by = by();
        crate::office::approve_receipt(&mut db, id, &by)?;
        println!("回执 {id} 已由 {by} 放行 approved; it goes out with the next `run`");
        return Ok(());
    }
    print!("{}", crate::receipts::list_text(&db)?);
    Ok(())
}
