//! Time in the office's zone. Asia/Shanghai has been UTC+08:00 without daylight saving
//! since 1991, so a fixed offset is exact for every date this intake can see and spares
//! a time-zone database.

use chrono::{DateTime, FixedOffset, TimeZone, Utc};

/// UTC+08:00, the zone of Asia/Shanghai.
pub fn shanghai() -> FixedOffset {
    // 8 hours is always a valid offset.
    FixedOffset::east_opt(8 * 3600).expect("+08:00 is a valid offset")
}

/// An instant shown in the office's zone.
pub fn to_shanghai<Tz: TimeZone>(t: &DateTime<Tz>) -> DateTime<FixedOffset> {
    t.with_timezone(&shanghai())
}

/// RFC 3339 in +08:00, seconds precision: the form used in JSON and the database.
pub fn fmt(t: &DateTime<FixedOffset>) -> String {
    to_shanghai(t).to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

/// Human form for tables and receipts: `2022-07-18 10:32:05`.
pub fn fmt_human(t: &DateTime<FixedOffset>) -> String {
    to_shanghai(t).format("%Y-%m-%d %H:%M:%S").to_string()
}

/// What a clerk reads: `2022-07-16 14:03` in +08:00, from a stored RFC 3339 time;
/// anything that is not one is shown as it is (nothing recorded is hidden).
pub fn fmt_minute(s: &str) -> String {
    match parse_rfc3339(s) {
        Some(t) => to_shanghai(&t).format("%Y-%m-%d %H:%M").to_string(),
        None => s.to_string(),
    }
}

pub fn parse_rfc3339(s: &str) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(s.trim()).ok()
}

pub fn now() -> DateTime<FixedOffset> {
    to_shanghai(&Utc::now())
}

/// Late means received strictly after the deadline instant.
pub fn is_late(received: &DateTime<FixedOffset>, deadline: &DateTime<FixedOffset>) -> bool {
    received > deadline
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundary_of_the_default_deadline() {
        // The notice's "2022年7月20日前", read as received by 2022-07-20 23:59:59 +08:00.
        let d = crate::call::Call::builtin().deadline;
        assert!(!is_late(
            &parse_rfc3339("2022-07-20T23:58:59+08:00").unwrap(),
            &d
        ));
        assert!(!is_late(
            &parse_rfc3339("2022-07-20T23:59:59+08:00").unwrap(),
            &d
        ));
        assert!(is_late(
            &parse_rfc3339("2022-07-21T00:00:01+08:00").unwrap(),
            &d
        ));
        // 16:00:01 UTC is 00:00:01 on the 21st in Shanghai.
        assert!(is_late(&parse_rfc3339("2022-07-20T16:00:01Z").unwrap(), &d));
        assert_eq!(
            fmt(&parse_rfc3339("2022-07-20T16:00:01Z").unwrap()),
            "2022-07-21T00:00:01+08:00"
        );
        assert_eq!(fmt_minute("2022-07-16T06:03:59Z"), "2022-07-16 14:03");
        assert_eq!(fmt_minute("不是时间"), "不是时间");
    }
}
