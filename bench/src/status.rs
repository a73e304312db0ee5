//! `bench status --applications N`: latency of the operators' read commands over a
//! large intake. Builds a database of N applications through the library's own db API
//! (`record_batch` → `save_processed` → `apps::build` → `save_applications`, the calls
//! the pipeline makes, so every row is what a real intake would hold), then times
//! `kepu-intake status`, `status --json`, `list` (the first 200 rows), `list --all`,
//! `list --form … --status …` and
//! `list --json` as whole processes (median of `--runs`), in the same run against two
//! baselines: the same commands over a small intake (`--baseline-applications`, 100)
//! and the `sqlite3` CLI doing the form × status GROUP BY over the big database.
//!
//! The generated intake: the four forms (expert 35 %, resource 30 %, pilot school 33 %,
//! pilot district 2 %), Chinese applicant names, the golden forms' field values
//! (`fixtures/forms/*_pydocx.expected.json`) with the applicant's name put in, statuses
//! mixed (complete 60 %, missing scan 20 %, unstamped scan 7 %, invalid 8 %, missing
//! electronic 5 %), a quarter of the scans sent in a later mail, 10 % of messages
//! that are no submission (questions, auto-replies, bounces, bulk, spam), receipts,
//! and received times spread over 2022-07-01 … 07-25 around the 07-20 deadline.
//!
//! Scans are paired with their electronic version by the bench itself (it knows which
//! belong together) instead of the scan stage's scorer, which needs real scan images.

use crate::Rng;
use kepu_intake::apps;
use kepu_intake::db::messages::{NewMessage, Origin, Recorded};
use kepu_intake::db::Db;
use kepu_intake::domain::document::{DocInMail, NewDocument, NewReceipt, Processed};
use kepu_intake::model::{FieldValue, Fields, FormKey};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::tmpdir::ShortTempDir;

const DEADLINE: &str = "2022-07-20T23:59:59+08:00";

/// What one generated application should end up as.
struct Plan {
    form: FormKey,
    applicant: String,
    status: &'static str,
}

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "胡", "朱", "高", "林",
    "何", "郭", "马", "罗", "梁", "宋", "郑", "谢", "韩", "唐", "冯", "于", "董", "萧", "程", "曹",
    "袁", "邓", "许", "傅", "沈", "曾", "彭", "吕",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "秀", "英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟",
    "涛", "明", "超", "兰", "霞", "平", "刚", "建", "华", "文", "辉", "玉", "萍", "红", "梅", "鑫",
    "波", "斌", "宇", "浩", "凯", "健", "俊", "帆", "旭", "宁", "龙", "欣", "晨", "瑞", "婷", "雪",
    "琳", "晶",
];
const DISTRICTS: &[&str] = &[
    "路南区",
    "路北区",
    "古冶区",
    "开平区",
    "丰南区",
    "丰润区",
    "曹妃甸区",
    "滦州市",
    "遵化市",
    "迁安市",
    "滦南县",
    "乐亭县",
    "迁西县",
    "玉田县",
];
const TOWNS: &[&str] = &[
    "城关",
    "新华",
    "东风",
    "西山",
    "友谊",
    "学院",
    "钱营",
    "黄各庄",
    "开平",
    "王兰庄",
    "胥各庄",
    "唐坊",
    "稻地",
    "小集",
    "马头营",
    "汤家河",
    "胡各庄",
    "姜各庄",
    "大安镇",
    "沙河",
];
const UNIT_KINDS: &[&str] = &[
    "中学",
    "小学",
    "实验中学",
    "实验小学",
    "职业中学",
    "青少年活动中心",
    "科技馆",
    "图书馆",
    "科普教育基地",
    "气象科普馆",
    "农业科技示范园",
    "少年宫",
];
const SCHOOL_KINDS: &[&str] = &["中学", "小学", "实验学校", "第二实验小学", "外国语学校"];

/// 1 … 999 in Chinese numerals (第十二中学, 第一百零五小学).
fn cn_number(n: usize) -> String {
    const D: [&str; 10] = ["零", "一", "二", "三", "四", "五", "六", "七", "八", "九"];
    let (h, t, u) = (n / 100, n / 10 % 10, n % 10);
    let mut s = String::new();
    if h > 0 {
        s.push_str(D[h]);
        s.push('百');
    }
    if t > 0 {
        if !(h == 0 && t == 1) {
            s.push_str(D[t]);
        }
        s.push('十');
    } else if h > 0 && u > 0 {
        s.push('零');
    }
    if u > 0 {
        s.push_str(D[u]);
    }
    s
}

/// A form of the built-in 2022 call, whose golden fixtures this bench reuses.
fn form2022(key: &str) -> FormKey {
    FormKey::parse(key).expect("a form of the built-in 2022 call")
}

fn name_for(form: FormKey, rng: &mut Rng) -> String {
    match form.as_str() {
        "expert" => {
            let mut s = rng.pick(SURNAMES).to_string();
            s.push_str(rng.pick(GIVEN));
            if rng.below(3) > 0 {
                s.push_str(rng.pick(GIVEN));
            }
            s
        }
        "resource" => format!(
            "唐山市{}第{}{}",
            rng.pick(DISTRICTS),
            cn_number(1 + rng.below(120)),
            rng.pick(UNIT_KINDS)
        ),
        "pilot_school" => format!(
            "唐山市{}第{}{}",
            rng.pick(DISTRICTS),
            cn_number(1 + rng.below(200)),
            rng.pick(SCHOOL_KINDS)
        ),
        _ => {
            format!("唐山市{}{}镇教育办", rng.pick(DISTRICTS), rng.pick(TOWNS))
        }
    }
}

/// N applications with unique (form, applicant) and a deterministic status mix.
fn plans(n: usize, seed: u64) -> Vec<Plan> {
    let mut rng = Rng(seed);
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let form = match rng.below(100) {
            0..35 => form2022("expert"),
            35..65 => form2022("resource"),
            65..98 => form2022("pilot_school"),
            _ => form2022("pilot_district"),
        };
        let applicant = name_for(form, &mut rng);
        if !seen.insert((form, apps::applicant_key(&applicant))) {
            continue;
        }
        let status = match rng.below(100) {
            0..60 => "complete",
            60..80 => "missing_scan",
            80..87 => "unstamped_scan",
            87..95 => "invalid",
            _ => "missing_electronic",
        };
        out.push(Plan {
            form,
            applicant,
            status,
        });
    }
    out
}

/// The golden forms' field values per form, so documents carry realistic JSON.
fn golden_fields() -> io::Result<HashMap<FormKey, Fields>> {
    let dir = crate::repo_root().join("fixtures/forms");
    let mut out = HashMap::new();
    for (form, file) in [
        (form2022("expert"), "expert_pydocx.expected.json"),
        (form2022("resource"), "resource_pydocx.expected.json"),
        (form2022("pilot_district"), "district_pydocx.expected.json"),
        (form2022("pilot_school"), "school_pydocx.expected.json"),
    ] {
        let text = std::fs::read_to_string(dir.join(file))?;
        let v: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| io::Error::other(format!("{file}: {e}")))?;
        let fields: Fields = serde_json::from_value(v["fields"].clone())
            .map_err(|e| io::Error::other(format!("{file}: fields: {e}")))?;
        out.insert(form, fields);
    }
    Ok(out)
}

fn sha(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

fn db_err(e: kepu_intake::error::Error) -> io::Error {
    io::Error::other(e.to_string())
}

/// The time of the k-th mail: 2022-07-01 08:00 + k × step, in +08:00.
fn received(k: usize, total: usize) -> chrono::DateTime<chrono::FixedOffset> {
    let start = kepu_intake::time::parse_rfc3339("2022-07-01T08:00:00+08:00")
        .unwrap_or_else(kepu_intake::time::now);
    // 25 days spread over all messages.
    let step = (25 * 86_400) / total.max(1) as i64;
    start + chrono::Duration::seconds(step * k as i64)
}

/// One mail of the generated intake before it is recorded.
struct Mail {
    from: String,
    subject: String,
    category: &'static str,
    docs: Vec<NewDocument>,
    receipt: &'static str,
}

fn document(
    form: FormKey,
    applicant: &str,
    kind: &str,
    fields: Fields,
    stamped: Option<bool>,
    problems: Vec<String>,
    tag: &str,
) -> NewDocument {
    let (name, format, size, ocr) = if kind == "electronic" {
        (
            format!("{}-{applicant}.docx", form.title_zh()),
            "docx",
            28_000,
            None,
        )
    } else {
        (
            format!("{applicant}（盖章）.pdf"),
            "pdf",
            900_000,
            Some(format!(
                "{} {applicant} 申报单位（盖章） 2022年7月 唐山市科学技术协会 唐山市教育局",
                form.title_zh()
            )),
        )
    };
    NewDocument {
        container: None,
        name,
        sha256: sha(&format!("{tag}:{kind}:{form:?}:{applicant}")),
        size,
        format: format.parse().expect("a format the domain names"),
        kind: kind.parse().expect("a kind the domain names"),
        form: Some(form.as_str().into()),
        applicant: Some(applicant.into()),
        fields,
        stamped,
        seal_score: stamped.map(|s| if s { 0.93 } else { 0.04 }),
        ocr_text: ocr,
        seal_text: None,
        problems,
        look: None,
    }
}

/// Builds the intake of `plans` into `db_path`; returns the number of messages.
fn build(db_path: &Path, plans: &[Plan], tag: &str) -> io::Result<usize> {
    let golden = golden_fields()?;
    let mut rng = Rng(0x5EED_0000 ^ plans.len() as u64);
    let mut mails: Vec<Mail> = Vec::new();
    let mut later: Vec<Mail> = Vec::new();
    for (i, p) in plans.iter().enumerate() {
        let from = format!("ts{}{i}@126.com", ["kx", "jy", "xx", "zx"][i % 4]);
        let mut fields = golden.get(&p.form).cloned().unwrap_or_default();
        fields.insert(
            p.form.applicant_key().into(),
            FieldValue::Text(p.applicant.clone()),
        );
        let problems = if p.status == "invalid" {
            vec!["missing_field:联系电话".to_string()]
        } else {
            vec![]
        };
        let electronic = document(
            p.form,
            &p.applicant,
            "electronic",
            fields,
            None,
            problems,
            tag,
        );
        let stamped = p.status != "unstamped_scan";
        let scan = document(
            p.form,
            &p.applicant,
            "scan",
            Fields::new(),
            Some(stamped),
            vec![],
            tag,
        );
        let subject = format!("{}申报材料-{}", p.form.title_zh(), p.applicant);
        let mail = |docs| Mail {
            from: from.clone(),
            subject: subject.clone(),
            category: "submission",
            docs,
            receipt: "sent",
        };
        match p.status {
            "missing_scan" => mails.push(mail(vec![electronic])),
            "missing_electronic" => mails.push(mail(vec![scan])),
            // A quarter of the scans follow in a later mail.
            _ if rng.below(4) == 0 => {
                mails.push(mail(vec![electronic]));
                later.push(mail(vec![scan]));
            }
            _ => mails.push(mail(vec![electronic, scan])),
        }
        if rng.below(10) == 0 {
            let (category, receipt) = [
                ("question", "sent"),
                ("autoreply", "suppressed"),
                ("bounce", "suppressed"),
                ("bulk", "suppressed"),
                ("spam", "suppressed"),
            ][rng.below(5)];
            mails.push(Mail {
                from: format!("other{i}@qq.com"),
                subject: "请问申报截止时间？".into(),
                category,
                docs: vec![],
                receipt,
            });
        }
    }
    mails.append(&mut later);

    let deadline =
        kepu_intake::time::parse_rfc3339(DEADLINE).ok_or_else(|| io::Error::other("deadline"))?;
    let total = mails.len();
    let mut db = Db::open(db_path).map_err(db_err)?;
    let now = kepu_intake::time::fmt(&kepu_intake::time::now());
    for (chunk_no, chunk) in mails.chunks(500).enumerate() {
        let base = chunk_no * 500;
        let batch: Vec<NewMessage> = chunk
            .iter()
            .enumerate()
            .map(|(j, m)| {
                let k = base + j;
                let at = received(k, total);
                NewMessage {
                    origin: Origin::Import {
                        path: format!("bench/{tag}/{k:05}.eml"),
                    },
                    sha256: sha(&format!("{tag}:raw:{k}")),
                    body_sha256: sha(&format!("{tag}:body:{k}")),
                    size: 40_000 + m.docs.iter().map(|d| d.size).sum::<i64>() * 4 / 3,
                    message_id: Some(format!("<{tag}-{k}@mail.example>")),
                    from_addr: Some(m.from.clone()),
                    from_name: None,
                    subject: Some(m.subject.clone()),
                    received_at: kepu_intake::time::fmt(&at),
                    received_estimated: false,
                    date_header: Some(kepu_intake::time::fmt(&at)),
                    late: at > deadline,
                    problems: vec![],
                    recorded_at: now.clone(),
                }
            })
            .collect();
        let recorded = db.record_batch(&batch, None).map_err(db_err)?;
        let processed: Vec<Processed> = recorded
            .iter()
            .zip(chunk)
            .map(|(r, m)| {
                let id = match r {
                    Recorded::New(id)
                    | Recorded::Duplicate { id, .. }
                    | Recorded::AlreadyKnown(id)
                    | Recorded::Rekeyed(id) => *id,
                };
                Processed {
                    message: id,
                    category: m.category.parse().expect("a category the domain names"),
                    from_addr: None,
                    from_name: None,
                    subject: None,
                    message_id: None,
                    problems: vec![],
                    documents: m.docs.clone(),
                    receipt: Some(NewReceipt {
                        to: m.from.clone(),
                        status: m
                            .receipt
                            .parse()
                            .expect("a receipt status the domain names"),
                        reason: None,
                    }),
                }
            })
            .collect();
        db.save_processed(&processed).map_err(db_err)?;
    }

    // Applications, as the pipeline computes them, with the bench's own pairing.
    let docs = db.docs_for_matching().map_err(db_err)?;
    let matcher = |scans: &[&DocInMail], elecs: &[&DocInMail]| {
        let by_key: HashMap<(Option<&str>, Option<&str>), usize> = elecs
            .iter()
            .enumerate()
            .map(|(i, e)| ((e.doc.form.as_deref(), e.doc.applicant.as_deref()), i))
            .collect();
        scans
            .iter()
            .map(|s| {
                by_key
                    .get(&(s.doc.form.as_deref(), s.doc.applicant.as_deref()))
                    .map(|&i| (i, 0.9))
            })
            .collect::<Vec<_>>()
    };
    let (rows, links) = apps::build(&docs, &HashMap::new(), &matcher);
    db.save_applications(&rows, &links).map_err(db_err)?;
    Ok(total)
}

/// The generated statuses, as `status --json` must report them: form → status → n.
fn expected_counts(plans: &[Plan]) -> BTreeMap<String, BTreeMap<String, u64>> {
    let mut out: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for p in plans {
        *out.entry(p.form.as_str().into())
            .or_default()
            .entry(p.status.into())
            .or_default() += 1;
    }
    out
}

/// A data dir with its config file.
struct Intake {
    _dir: ShortTempDir,
    config: PathBuf,
    db: PathBuf,
    messages: usize,
    plans: Vec<Plan>,
}

fn make_intake(n: usize, tag: &str) -> io::Result<Intake> {
    let dir = ShortTempDir::new("kbs")?;
    let data = dir.path().join("data");
    let config = dir.path().join("kepu-intake.toml");
    std::fs::write(
        &config,
        format!(
            "[intake]\ndeadline = \"{DEADLINE}\"\n\n[storage]\ndata_dir = \"{}\"\n\n\
             [receipts]\nmode = \"off\"\n",
            data.display()
        ),
    )?;
    let plans = plans(n, 0x9E37_79B9_7F4A_7C15 ^ n as u64);
    let db = data.join("intake.db");
    let messages = build(&db, &plans, tag)?;
    Ok(Intake {
        _dir: dir,
        config,
        db,
        messages,
        plans,
    })
}

/// Runs `intake --config … args` once; stdout, or an error with stderr.
fn output(intake: &Path, config: &Path, args: &[&str]) -> io::Result<String> {
    let out = Command::new(intake)
        .arg("--config")
        .arg(config)
        .args(args)
        .stdin(Stdio::null())
        .output()?;
    if !out.status.success() {
        return Err(io::Error::other(format!(
            "kepu-intake {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    String::from_utf8(out.stdout).map_err(|e| io::Error::other(e.to_string()))
}

/// Wall and CPU (user + system) time of one process run, output to /dev/null. CPU
/// time is what the command costs; wall time also holds the wait for a core, which on
/// a shared, loaded machine can be most of it.
#[derive(Clone, Copy, Default)]
struct Took {
    wall: Duration,
    cpu: Duration,
}

fn run_once(mut c: Command) -> io::Result<Took> {
    c.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let t0 = Instant::now();
    let child = c.spawn()?;
    let mut status = 0;
    // SAFETY: an all-zero rusage is valid; wait4 fills it for our own child's pid.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = child.id() as libc::pid_t;
    // SAFETY: as above; std's Child is never waited on after this.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = t0.elapsed();
    if r != pid {
        return Err(io::Error::other(format!(
            "wait4: {}",
            io::Error::last_os_error()
        )));
    }
    if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
        return Err(io::Error::other(format!("{c:?} failed (status {status})")));
    }
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    Ok(Took {
        wall,
        cpu: tv(usage.ru_utime) + tv(usage.ru_stime),
    })
}

/// Medians of wall and CPU time over `runs` runs.
fn median_of(runs: usize, mut cmd: impl FnMut() -> Command) -> io::Result<Took> {
    let mut walls = Vec::with_capacity(runs);
    let mut cpus = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = run_once(cmd())?;
        walls.push(t.wall);
        cpus.push(t.cpu);
    }
    walls.sort();
    cpus.sort();
    Ok(Took {
        wall: walls[walls.len() / 2],
        cpu: cpus[cpus.len() / 2],
    })
}

/// Checks the big intake reads back as generated, so a fast wrong answer cannot pass.
fn verify(intake: &Path, it: &Intake) -> io::Result<()> {
    let n = it.plans.len();
    let v: serde_json::Value =
        serde_json::from_str(&output(intake, &it.config, &["status", "--json"])?)
            .map_err(|e| io::Error::other(format!("status --json: {e}")))?;
    let want = expected_counts(&it.plans);
    for (form, statuses) in &want {
        for (status, count) in statuses {
            let got = v["by_form_status"][form][status].as_u64().unwrap_or(0);
            if got != *count {
                return Err(io::Error::other(format!(
                    "status --json: {form} × {status} = {got}, generated {count}"
                )));
            }
        }
    }
    if v["applications"].as_u64() != Some(n as u64)
        || v["messages"].as_u64() != Some(it.messages as u64)
    {
        return Err(io::Error::other(format!(
            "status --json: {} applications / {} messages, generated {n} / {}",
            v["applications"], v["messages"], it.messages
        )));
    }
    let list: serde_json::Value =
        serde_json::from_str(&output(intake, &it.config, &["list", "--json"])?)
            .map_err(|e| io::Error::other(format!("list --json: {e}")))?;
    if list.as_array().map_or(0, Vec::len) != n {
        return Err(io::Error::other(
            "list --json: wrong number of applications",
        ));
    }
    let text = output(
        intake,
        &it.config,
        &["list", "--form", "expert", "--status", "missing_scan"],
    )?;
    let want = want
        .get("expert")
        .and_then(|m| m.get("missing_scan"))
        .copied()
        .unwrap_or(0);
    let last = text.lines().last().unwrap_or("");
    if last != format!("共 {want} 项") && !last.starts_with(&format!("共 {want} 项，显示前"))
    {
        return Err(io::Error::other(format!(
            "list --form expert --status missing_scan: expected 共 {want} 项"
        )));
    }
    Ok(())
}

const COMMANDS: &[&[&str]] = &[
    &["status"],
    &["status", "--json"],
    &["list"],
    &["list", "--all"],
    &["list", "--form", "expert", "--status", "missing_scan"],
    &["list", "--json"],
];

const GROUP_BY: &str = "SELECT form, status, count(*) FROM applications GROUP BY form, status;";

/// In-process: the library calls behind the commands, without process start-up.
fn in_process(it: &Intake, runs: usize) -> io::Result<Vec<(String, Duration)>> {
    let mut out = Vec::new();
    let mut time = |what: &str, f: &dyn Fn() -> kepu_intake::error::Result<usize>| {
        let mut v = Vec::with_capacity(runs);
        for _ in 0..runs {
            let t0 = Instant::now();
            f().map_err(db_err)?;
            v.push(t0.elapsed());
        }
        v.sort();
        out.push((what.to_string(), v[v.len() / 2]));
        Ok::<(), io::Error>(())
    };
    time("Db::open + status_counts + from_counts (status)", &|| {
        let db = Db::open(&it.db)?;
        let c = db.status_counts()?;
        Ok(kepu_intake::report::status::from_counts(&c, db.last_poll()?, false).applications)
    })?;
    time("Db::open + load_applications (list)", &|| {
        let db = Db::open(&it.db)?;
        Ok(db.load_applications()?.len())
    })?;
    // What `status` and `list` did before they had their own queries (and what the
    // web page and `dump --json` still do): load the whole intake, then count.
    time("Db::open + load_dump + status::compute (before)", &|| {
        let db = Db::open(&it.db)?;
        let d = db.load_dump()?;
        Ok(kepu_intake::report::status::compute(&d, None, false).applications)
    })?;
    // The web page's two pages that read everything: the dashboard and the
    // application list (all rows). A fresh cache per request is what every request
    // cost before the cache; a warm one is a request with nothing committed since.
    use kepu_intake::web::{cache::DumpCache, pages};
    let render = |cache: &DumpCache| -> kepu_intake::error::Result<usize> {
        let d = cache.load()?;
        let dash = pages::dashboard(&d, kepu_intake::time::now());
        // The list's first page (50 rows): the filter and sort still walk every row.
        let list = pages::app_list(
            &d,
            &pages::AppFilter::default(),
            &kepu_intake::web::paging::ListQuery::new("/apps", &Default::default()),
        );
        Ok(dash.len() + list.len())
    };
    time(
        "web: load_dump + dashboard + /apps (each request before)",
        &|| render(&DumpCache::new(it.db.clone())),
    )?;
    let warm = DumpCache::new(it.db.clone());
    render(&warm).map_err(db_err)?;
    time(
        "web: cached dump + dashboard + /apps (nothing committed since)",
        &|| render(&warm),
    )?;
    time("web: cached dump only (PRAGMA data_version)", &|| {
        Ok(warm.load()?.applications.len())
    })?;
    Ok(out)
}

pub fn run(n: usize, small: usize, runs: usize, intake: Option<PathBuf>) -> io::Result<()> {
    let intake = crate::intake_exe(intake)?;
    let t0 = Instant::now();
    let big = make_intake(n, "big")?;
    let built = t0.elapsed();
    let small_it = make_intake(small, "small")?;
    let size = std::fs::metadata(&big.db)?.len();
    println!(
        "generated {n} applications in {} messages ({:.1} MiB database) in {:.2} s; baseline intake: {small} applications",
        big.messages,
        size as f64 / 1048576.0,
        built.as_secs_f64()
    );
    println!("machine: {}", crate::machine());
    verify(&intake, &big)?;
    println!("checked: status --json and list agree with the generated intake");

    let sqlite = median_of(runs, || {
        let mut c = Command::new("sqlite3");
        c.arg(&big.db).arg(GROUP_BY);
        c
    });
    let mut worst = Took::default();
    println!();
    println!("whole processes, median of {runs} runs (wall / CPU = user + system):");
    println!("| command | {n} applications | {small} applications | ratio (wall) |");
    println!("|---|---|---|---|");
    for args in COMMANDS {
        let cmd = |it: &Intake| {
            let mut c = Command::new(&intake);
            c.arg("--config").arg(&it.config).args(*args);
            c
        };
        let a = median_of(runs, || cmd(&big))?;
        let b = median_of(runs, || cmd(&small_it))?;
        worst.wall = worst.wall.max(a.wall);
        worst.cpu = worst.cpu.max(a.cpu);
        println!(
            "| `kepu-intake {}` | {:.1} / {:.1} ms | {:.1} / {:.1} ms | {:.2} |",
            args.join(" "),
            ms(a.wall),
            ms(a.cpu),
            ms(b.wall),
            ms(b.cpu),
            ms(a.wall) / ms(b.wall).max(1e-9)
        );
    }
    match sqlite {
        Ok(s) => println!(
            "baseline: `sqlite3 DB '{GROUP_BY}'` over {n} applications: {:.1} / {:.1} ms; \
             slowest command / sqlite3 = {:.2} (wall), {:.2} (CPU)",
            ms(s.wall),
            ms(s.cpu),
            ms(worst.wall) / ms(s.wall).max(1e-9),
            ms(worst.cpu) / ms(s.cpu).max(1e-9)
        ),
        Err(e) => println!("baseline: sqlite3 CLI not available ({e})"),
    }
    let met = |d: Duration| {
        if d < Duration::from_millis(50) {
            "met"
        } else {
            "NOT met"
        }
    };
    println!(
        "target < 50 ms each: slowest wall {:.1} ms ({}), slowest CPU {:.1} ms ({})",
        ms(worst.wall),
        met(worst.wall),
        ms(worst.cpu),
        met(worst.cpu)
    );
    println!();
    println!("in-process, median of {runs} runs, {n} applications:");
    for (what, t) in in_process(&big, runs)? {
        println!("  {what}: {:.2} ms", ms(t));
    }
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
