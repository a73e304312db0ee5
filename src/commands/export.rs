//! `export --xlsx FILE` / `--csv DIR` / `--zip FILE`.

use super::{open_db, roster};
use crate::config::Config;
use crate::error::Result;

/// `export --xlsx FILE` / `--csv DIR` / `--zip FILE`.
pub fn export(
    cfg: &Config,
    xlsx: Option<&std::path::Path>,
    csv: Option<&std::path::Path>,
    zip: Option<&std::path::Path>,
) -> Result<()> {
    let db = open_db(cfg)?;
    let d = db.load_dump()?;
    if let Some(path) = xlsx {
        let r = roster::roster_of(&db, &d)?;
        crate::report::export::write_xlsx_with(&d, &r, path)?;
        println!(
            "已导出 Excel 汇总表 written: {} ({} 份申报, {} 封邮件)",
            path.display(),
            d.applications.len(),
            d.messages.len()
        );
    }
    if let Some(dir) = csv {
        let files = crate::report::export::write_csv(&d, dir)?;
        for f in files {
            println!("已导出 written: {}", f.display());
        }
    }
    if let Some(path) = zip {
        let n = crate::report::export::bundle::write_zip(
            crate::call::current(),
            &d,
            &cfg.storage.data_dir,
            path,
        )?;
        println!(
            "已导出 written: {} ({n} 个文件，审核为“已受理”的申报)",
            path.display()
        );
        if n == 0 {
            println!("注意：还没有审核为“已受理”的申报；先审核（页面或 kepu-intake review a编号 --accept）再导出");
        }
    }
    Ok(())
}
