//! The applications stage on hand-made documents: supersession, scan links, statuses
//! and the notes a clerk reads (uncertain seal, mislabelled name, another unit's seal).

use super::*;

/// A deterministic stand-in for the scan stage's scoring, so these tests check the
/// application logic alone: same form and same message, or same form and same sender,
/// each electronic taken once, oldest first.
fn simple_matcher(scans: &[&DocInMail], elecs: &[&DocInMail]) -> Vec<Option<(usize, f64)>> {
    let mut taken = vec![false; elecs.len()];
    scans
        .iter()
        .map(|s| {
            let best = elecs
                .iter()
                .enumerate()
                .filter(|(i, e)| !taken[*i] && s.doc.form.is_some() && s.doc.form == e.doc.form)
                .map(|(i, e)| {
                    let score: f64 = if s.doc.message == e.doc.message {
                        0.9
                    } else if s.from_addr.is_some() && s.from_addr == e.from_addr {
                        0.6
                    } else {
                        0.0
                    };
                    (i, score)
                })
                .filter(|(_, sc)| *sc >= 0.5)
                .max_by(|a, b| a.1.total_cmp(&b.1));
            if let Some((i, _)) = best {
                taken[i] = true;
            }
            best
        })
        .collect()
}

fn doc(id: i64, msg: i64, kind: &str, form: &str, applicant: &str, sha: &str) -> DocInMail {
    let scan = kind == "scan";
    DocInMail {
        doc: crate::domain::document::Document {
            id,
            name: format!("d{id}"),
            container: None,
            sha256: sha.into(),
            format: if scan {
                crate::domain::DocFormat::Jpg
            } else {
                crate::domain::DocFormat::Docx
            },
            kind: kind.parse().unwrap(),
            form: Some(form.into()),
            fields: Default::default(),
            stamped: if scan { Some(true) } else { None },
            scan_of: None,
            superseded_by: None,
            problems: vec![],
            size: 1000,
            seal_score: None,
            match_score: None,
            path: format!("docs/{sha}"),
            message: msg,
            applicant: Some(applicant.into()).filter(|a: &String| !a.is_empty()),
            ocr_text: None,
            seal_text: None,
            look: None,
        },
        from_addr: Some("a@school.example".into()),
        received_at: "2022-07-18T10:00:00+08:00".into(),
        late: false,
        from_name: None,
        subject: None,
    }
}

#[test]
fn resubmission_supersedes_and_scan_completes() {
    let docs = vec![
        doc(1, 1, "electronic", "resource", "唐山市第一中学", "aaa"),
        doc(2, 2, "electronic", "resource", "唐山市第一中学 ", "bbb"),
        doc(3, 2, "scan", "resource", "", "ccc"),
    ];
    let (apps, links) = build(&docs, &HashMap::new(), &simple_matcher);
    assert_eq!(apps.len(), 1);
    assert_eq!(apps[0].status, "complete");
    assert_eq!(apps[0].electronic, Some(2));
    assert_eq!(apps[0].scan, Some(3));
    assert_eq!(links.superseded_by, vec![(1, 2)]);
    assert_eq!(links.scan_of, vec![(3, 2, 0.9)]);
}

#[test]
fn a_seal_ring_naming_another_applicant_is_a_foreign_seal_and_only_then() {
    let scan = |ring: &str| {
        let mut s = doc(3, 2, "scan", "resource", "", "ccc");
        s.doc.seal_text = Some(ring.into());
        s
    };
    let apps_with = |ring: &str| {
        let docs = vec![
            doc(1, 1, "electronic", "resource", "迁安市实验小学", "aaa"),
            doc(2, 2, "electronic", "resource", "唐山市第一中学", "bbb"),
            scan(ring),
        ];
        let mut manual = HashMap::new();
        manual.insert("ccc".to_string(), Some("bbb".to_string()));
        let (apps, _) = build(&docs, &manual, &simple_matcher);
        apps.into_iter()
            .find(|a| a.applicant == "唐山市第一中学")
            .unwrap()
    };
    let foreign = "foreign_seal".to_string();
    // The ring reads the other school (one character apart would be too close to say): a clerk is asked to compare.
    let a = apps_with("迁安市实验小学");
    assert!(a.problems.contains(&foreign), "{a:?}");
    // Its own name, or too little read to say: nothing is said.
    for ring in ["唐山市第一中学", "唐山市", "", "★"] {
        let a = apps_with(ring);
        assert!(!a.problems.contains(&foreign), "{ring}: {a:?}");
    }
}

#[test]
fn uncertain_seal_and_mislabelled_name_are_noted_not_unstamped() {
    let mut s = doc(3, 2, "scan", "resource", "", "ccc");
    s.doc.stamped = None;
    s.doc.problems = vec![crate::scan::SEAL_UNCERTAIN.into()];
    s.doc.name = "附件2_唐山市第十中学_盖章.jpg".into();
    let docs = vec![
        doc(1, 1, "electronic", "resource", "唐山市第十中学", "aaa"),
        doc(2, 2, "electronic", "resource", "唐山市第一中学", "bbb"),
        s,
    ];
    let mut manual = HashMap::new();
    manual.insert("ccc".to_string(), Some("bbb".to_string()));
    let (apps, _) = build(&docs, &manual, &simple_matcher);
    let a = apps
        .iter()
        .find(|a| a.applicant == "唐山市第一中学")
        .unwrap();
    assert_eq!(a.status, "complete", "{a:?}");
    assert!(a.problems.contains(&"seal_uncertain".to_string()), "{a:?}");
    assert!(
        a.problems.contains(&"mislabelled_scan".to_string()),
        "{a:?}"
    );
    assert!(!a.problems.contains(&"seal_unknown".to_string()), "{a:?}");
}

#[test]
fn statuses_for_missing_and_unstamped() {
    let mut s = doc(3, 3, "scan", "expert", "", "ccc");
    s.doc.stamped = Some(false);
    s.from_addr = Some("other@x.example".into());
    let docs = vec![
        doc(1, 1, "electronic", "resource", "A校", "aaa"),
        doc(2, 2, "electronic", "expert", "张三", "bbb"),
        s,
    ];
    let mut manual = HashMap::new();
    manual.insert("ccc".to_string(), Some("bbb".to_string()));
    let (apps, _) = build(&docs, &manual, &simple_matcher);
    let st: Vec<(&str, &str)> = apps
        .iter()
        .map(|a| (a.applicant.as_str(), a.status.as_str()))
        .collect();
    assert!(st.contains(&("A校", "missing_scan")), "{st:?}");
    assert!(st.contains(&("张三", "unstamped_scan")), "{st:?}");
}

#[test]
fn lone_scan_is_missing_electronic_and_manual_unmatch_wins() {
    let docs = vec![
        doc(1, 1, "electronic", "pilot_school", "B校", "aaa"),
        doc(2, 1, "scan", "pilot_school", "", "bbb"),
    ];
    let mut manual = HashMap::new();
    manual.insert("bbb".to_string(), None);
    let (apps, links) = build(&docs, &manual, &simple_matcher);
    assert!(links.scan_of.is_empty());
    let statuses: Vec<&str> = apps.iter().map(|a| a.status.as_str()).collect();
    assert_eq!(statuses, vec!["missing_scan", "missing_electronic"]);
}

/// A form scanned as two JPGs: page 1 has the title, page 2 the seal. One scan,
/// stamped, both pages linked; the application is complete.
#[test]
fn pages_of_one_form_are_one_stamped_scan() {
    let mut p1 = doc(2, 1, "scan", "resource", "", "p1");
    p1.doc.name = "扫描件_1.jpg".into();
    p1.doc.stamped = Some(false);
    p1.doc.ocr_text = Some("科普资源申报推荐表".into());
    let mut p2 = doc(3, 1, "scan", "resource", "", "p2");
    p2.doc.name = "扫描件_2.jpg".into();
    p2.doc.form = None;
    p2.doc.ocr_text = Some("申报单位（盖章）".into());
    let docs = vec![
        doc(1, 1, "electronic", "resource", "唐山市第一中学", "aaa"),
        p1,
        p2,
    ];
    let (apps, links) = build(&docs, &HashMap::new(), &simple_matcher);
    assert_eq!(apps.len(), 1, "{apps:?}");
    assert_eq!(apps[0].status, "complete", "{apps:?}");
    assert_eq!(apps[0].scan, Some(2));
    assert_eq!(links.scan_of, vec![(2, 1, 0.9), (3, 1, 0.9)]);
    // The same pages without OCR: nothing tells page 2 from a form of its own.
    let mut unread = docs.clone();
    unread.iter_mut().for_each(|d| d.doc.ocr_text = None);
    let (apps, _) = build(&unread, &HashMap::new(), &simple_matcher);
    assert_eq!(apps[0].status, "unstamped_scan", "{apps:?}");
}

#[test]
fn keys_ignore_spaces_and_width() {
    assert_eq!(
        applicant_key("唐山市 第一中学\u{3000}"),
        applicant_key("唐山市第一中学")
    );
    assert_eq!(
        applicant_key("路北区（试点）"),
        applicant_key("路北区(试点)")
    );
}

/// A scan sent alone, its unit row blank on the page, the electronic form a day later
/// from another address: with the real matcher, the unit its mail's subject names
/// makes them one application; the same unit only in the scan's file name, or a page
/// that names another unit, does not.
#[test]
fn a_scan_sent_first_joins_its_later_electronic_by_the_unit_its_mail_names() {
    let unit = "滦南县第一中学";
    let mails = |subject: Option<&str>, name: &str, unit_row: &str| {
        let mut scan = doc(1, 1, "scan", "pilot_school", unit, "s1");
        scan.doc.name = name.into();
        scan.doc.ocr_text = Some(format!(
            "附件4\n唐山市科技教育试点学校申报表\n申报学校{unit_row}\n通讯地址"
        ));
        scan.from_addr = Some("lnyz@126.com".into());
        scan.received_at = "2022-07-15T16:00:00+08:00".into();
        scan.subject = subject.map(str::to_string);
        let mut e = doc(2, 2, "electronic", "pilot_school", unit, "e2");
        e.from_addr = Some("ln1z_zhang@163.com".into());
        e.received_at = "2022-07-16T08:40:00+08:00".into();
        let matcher = |s: &[&DocInMail], e: &[&DocInMail]| crate::scan::recorded::assign(s, e, 0.4);
        let (apps, _) = build(&[scan, e], &HashMap::new(), &matcher);
        apps.iter().map(|a| a.status).collect::<Vec<_>>()
    };
    let subject = Some("滦南县第一中学试点学校申报盖章扫描件");
    assert_eq!(
        mails(subject, "盖章扫描件.jpg", ""),
        vec![AppStatus::Complete]
    );
    let apart = vec![AppStatus::MissingScan, AppStatus::MissingElectronic];
    assert_eq!(mails(None, "滦南县第一中学盖章.jpg", ""), apart);
    assert_eq!(mails(subject, "盖章扫描件.jpg", "唐山市第十中学"), apart);
}
