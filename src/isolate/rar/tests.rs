//! The RAR reader in process (the worker runs the same function): caps, passwords and
//! broken input on the archives of `fixtures/mail/files/` (made by RARLAB's rar 7, and
//! the stored RAR4 of `make_files.py`).

use super::*;

/// The first RAR attachment of the fixture mail `case`.
fn archive(case: &str) -> Vec<u8> {
    let path = format!(
        "{}/fixtures/mail/files/{case}.eml",
        env!("CARGO_MANIFEST_DIR")
    );
    let raw = std::fs::read(path).unwrap();
    let ex = crate::extract::extract(&raw, &Limits::default());
    ex.documents
        .into_iter()
        .find(|d| d.format == "rar")
        .unwrap()
        .bytes
}

fn names(x: &Expanded) -> Vec<&str> {
    x.members.iter().map(|m| m.name.as_str()).collect()
}

const BUDGET: u64 = 256 << 20;

#[test]
fn members_come_out_whole() {
    let x = expand(
        &archive("rar_form_and_scan"),
        &Limits::default(),
        BUDGET,
        &[],
    );
    assert!(x.problems.is_empty(), "{:?}", x.problems);
    assert_eq!(names(&x), ["专家推荐表.docx", "盖章扫描件.jpg"]);
    let form = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/forms/expert_pydocx.docx"
    ))
    .unwrap();
    assert_eq!(x.members[0].bytes, form);
    assert!(x.members[1].bytes.starts_with(&[0xFF, 0xD8, 0xFF]));
    let old = expand(
        &archive("rar4_stored_form"),
        &Limits::default(),
        BUDGET,
        &[],
    );
    assert!(old.problems.is_empty(), "{:?}", old.problems);
    assert_eq!(old.members[0].bytes, form);
}

#[test]
fn member_cap_is_over_size_and_entry_cap_stops() {
    let small = Limits {
        max_attachment_bytes: 10_000,
        ..Limits::default()
    };
    let x = expand(&archive("rar_form_and_scan"), &small, BUDGET, &[]);
    assert!(x.problems.contains(&"over_size".to_string()), "{x:?}");
    assert!(x.members.iter().all(|m| m.bytes.is_empty()));
    let one = Limits {
        max_entries: 1,
        ..Limits::default()
    };
    let x = expand(&archive("rar_form_and_scan"), &one, BUDGET, &[]);
    assert_eq!(x.problems, ["too_many_entries"]);
    assert_eq!(x.members.len(), 1);
}

#[test]
fn the_bomb_and_a_spent_budget_are_zip_bombs() {
    let x = expand(&archive("rar_bomb"), &Limits::default(), BUDGET, &[]);
    assert_eq!(x.problems, ["zip_bomb"]);
    assert_eq!(x.members[0].problems, ["zip_bomb"]);
    // The message's other archives used the budget up.
    let x = expand(&archive("rar_form_and_scan"), &Limits::default(), 1000, &[]);
    assert!(x.problems.contains(&"zip_bomb".to_string()), "{x:?}");
}

#[test]
fn the_data_callback_aborts_past_the_cap() {
    // A member whose header understates its size: the decoder's output is cut at
    // the cap, whatever the header said.
    let mut st = State {
        password: Vec::new(),
        asked: false,
        buf: Vec::new(),
        cap: 8,
        over: false,
    };
    let user = &mut st as *mut State as ffi::LPARAM;
    let data = [7u8; 6];
    let p = data.as_ptr() as ffi::LPARAM;
    assert_eq!(callback(ffi::UCM_PROCESSDATA, user, p, 6), 0);
    assert_eq!(callback(ffi::UCM_PROCESSDATA, user, p, 6), -1);
    assert!(st.over);
    assert_eq!(st.buf.len(), 6);
    // No password to give: the request is refused, and remembered.
    assert_eq!(callback(ffi::UCM_NEEDPASSWORDW, user, 0, 128), -1);
    assert!(st.asked);
}

#[test]
fn passwords_open_what_they_should_and_nothing_else() {
    let pw = ["1111".to_string(), "2580".to_string()];
    let hp = archive("rar_password_names_in_body");
    let shut = expand(&hp, &Limits::default(), BUDGET, &[]);
    assert_eq!(shut.problems, ["encrypted_attachment"]);
    assert!(shut.members.is_empty(), "names are encrypted too");
    let wrong = expand(&hp, &Limits::default(), BUDGET, &pw[..1]);
    assert_eq!(wrong.problems, ["encrypted_attachment"]);
    let open = expand(&hp, &Limits::default(), BUDGET, &pw);
    assert_eq!(open.problems, ["decrypted_with_password"]);
    assert_eq!(names(&open), ["专家推荐表.docx"]);

    // RAR4 (RAR 3.x AES, no password check): a wrong password shows as bad data.
    let old = archive("rar4_password_in_body");
    let shut = expand(&old, &Limits::default(), BUDGET, &pw[..1]);
    assert_eq!(shut.problems, ["encrypted_attachment"]);
    assert_eq!(shut.members[0].problems, ["encrypted_attachment"]);
    let open = expand(&old, &Limits::default(), BUDGET, &pw);
    assert_eq!(open.problems, ["decrypted_with_password"]);
    assert!(open.members[0].bytes.starts_with(b"PK\x03\x04"));

    let p = archive("rar_password_in_body");
    let listed = expand(&p, &Limits::default(), BUDGET, &pw[..1]);
    assert_eq!(listed.problems, ["encrypted_attachment"]);
    assert_eq!(listed.members[0].problems, ["encrypted_attachment"]);
    assert!(listed.members[0].bytes.is_empty());
    let open = expand(&p, &Limits::default(), BUDGET, &pw);
    assert_eq!(open.problems, ["decrypted_with_password"]);
    assert!(open.members[0].bytes.starts_with(b"PK\x03\x04"));
}

#[test]
fn a_member_continued_in_another_volume_is_named() {
    // The first of two volumes (rar -v20k), sent alone.
    let x = expand(
        &archive("rar_volume_part1"),
        &Limits::default(),
        BUDGET,
        &[],
    );
    assert_eq!(x.problems, ["unsupported_archive"], "{x:?}");
    assert_eq!(names(&x), ["专家推荐表.docx"]);
    assert_eq!(x.members[0].problems, ["unsupported_archive"]);
    assert!(x.members[0].bytes.is_empty());
}

#[test]
fn broken_archives_are_corrupt_not_a_crash() {
    let good = archive("rar_form_and_scan");
    for bad in [
        b"Rar!\x1a\x07\x01\x00".to_vec(),
        good[..good.len() / 2].to_vec(),
        b"not a rar at all".to_vec(),
    ] {
        let x = expand(&bad, &Limits::default(), BUDGET, &[]);
        assert!(
            x.problems.contains(&"corrupt_attachment".to_string()),
            "{} bytes: {x:?}",
            bad.len()
        );
    }
    // Flipped bytes in the middle of the compressed data: a bad checksum.
    let mut flipped = good.clone();
    for b in &mut flipped[2000..2100] {
        *b ^= 0x5A;
    }
    let x = expand(&flipped, &Limits::default(), BUDGET, &[]);
    assert!(
        x.problems.contains(&"corrupt_attachment".to_string()),
        "{x:?}"
    );
}

/// Byte-mutated archives (RAR5 and RAR4) end as members or named problems within the
/// caps, never a crash of the process running the decoder.
#[test]
fn mutated_archives_stay_within_the_caps() {
    let mut seed = 12345u64;
    let mut rnd = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let small = Limits {
        max_attachment_bytes: 1 << 20,
        ..Limits::default()
    };
    for case in ["rar_form_and_scan", "rar4_stored_form"] {
        let good = archive(case);
        for _ in 0..100 {
            let mut b = good.clone();
            for _ in 0..(1 + rnd() % 8) {
                let i = (rnd() as usize) % b.len();
                b[i] = rnd() as u8;
            }
            let x = expand(&b, &small, BUDGET, &[]);
            assert!(x.members.iter().all(|m| m.bytes.len() <= 1 << 20));
            let known = [
                "corrupt_attachment",
                "encrypted_attachment",
                "over_size",
                "zip_bomb",
                "too_many_entries",
                "unsupported_archive",
            ];
            assert!(
                x.problems.iter().all(|p| known.contains(&p.as_str())),
                "{x:?}"
            );
        }
    }
}
