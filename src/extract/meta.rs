//! Top of the extract stage: parse the message, decode the metadata the later stages
//! need from the raw header bytes, walk the MIME tree for documents, then add the
//! NetEase cloud attachments found in the HTML body.

use super::docs::Ctx;
use super::mime::{self, Bodies};
use super::{cloud, headers, robots, text, Extracted, ExtractedDoc, Limits, MessageMeta};
use mail_parser::MimeHeaders;

/// See [`super::extract`].
pub fn extract(raw: &[u8], limits: &Limits) -> Extracted {
    let msg = match mime::parse_message(raw) {
        Ok(Some(m)) => m,
        Ok(None) => {
            return Extracted {
                problems: vec!["unparseable_message".into()],
                ..Extracted::default()
            }
        }
        Err(()) => {
            return Extracted {
                problems: vec!["parser_panic".into()],
                ..Extracted::default()
            }
        }
    };
    let raw_msg: &[u8] = msg.raw_message();
    // Root headers decoded (8-bit → UTF-8/GB18030), encoded words left for the fields
    // that carry text for people.
    let mut list: Vec<(String, String)> = Vec::new();
    let mut subject = None;
    let mut from_name = None;
    let mut undecodable = false;
    for h in msg.headers() {
        let name = h.name().to_string();
        let v = headers::value_text(raw_msg, h);
        if name.eq_ignore_ascii_case("Subject") && subject.is_none() {
            let d = headers::value_decoded(raw_msg, h);
            undecodable |= d.lossy;
            subject = Some(d.text.trim().to_string());
        }
        if name.eq_ignore_ascii_case("From") && from_name.is_none() {
            from_name = Some(headers::display_name(&v.text));
        }
        list.push((name, v.text));
    }
    let get = |n: &str| {
        list.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(n))
            .map(|(_, v)| v.as_str())
    };
    let from = msg
        .from()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .map(|a| a.trim().to_lowercase())
        .filter(|a| a.contains('@'))
        .or_else(|| get("From").and_then(headers::first_address));
    let reply_to = get("Reply-To").and_then(headers::first_address);
    let return_path = get("Return-Path").map(|v| {
        let v = v.trim();
        if v == "<>" {
            String::new()
        } else {
            headers::first_address(v).unwrap_or_else(|| v.to_lowercase())
        }
    });
    let top_received = get("Received")
        .and_then(|v| v.rsplit_once(';').map(|(_, d)| d.to_string()))
        .and_then(|d| headers::parse_date_text(&d));
    let root_ct = get("Content-Type").unwrap_or("text/plain").to_string();
    let mut meta = MessageMeta {
        message_id: get("Message-ID").and_then(|v| headers::msg_ids(v).into_iter().next()),
        from,
        from_name: from_name.flatten(),
        reply_to,
        subject,
        date_header: msg.date().and_then(headers::to_chrono),
        top_received,
        return_path,
        in_reply_to: get("In-Reply-To").and_then(|v| headers::msg_ids(v).into_iter().next()),
        references: get("References").map(headers::msg_ids).unwrap_or_default(),
        body_text: String::new(),
        auto_response_suppress: get("X-Auto-Response-Suppress").map(|v| v.trim().to_string()),
        robot: None,
        robot_reason: None,
        authentication_results: list
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("Authentication-Results"))
            .map(|(_, v)| v.clone())
            .collect(),
    };
    if let Some((cat, why)) =
        robots::classify(&list, &root_ct, meta.subject.as_deref().unwrap_or_default())
    {
        meta.robot = Some(cat);
        meta.robot_reason = Some(why);
    }
    let root_is_report_mdn = msg
        .root_part()
        .content_type()
        .and_then(|c| c.attribute("report-type"))
        .is_some_and(|t| t.eq_ignore_ascii_case("disposition-notification"));
    if root_is_report_mdn && meta.robot.is_none() {
        meta.robot = Some(crate::model::Category::Autoreply);
        meta.robot_reason =
            Some("Content-Type: multipart/report (disposition-notification)".into());
    }

    let mut ctx = Ctx {
        limits,
        docs: Vec::new(),
        problems: Vec::new(),
        parts_seen: 0,
        parts_capped: false,
        expanded_total: 0,
    };
    if undecodable {
        ctx.problem("subject_undecodable");
    }
    let mut bodies = Bodies::default();
    mime::walk(msg, &mut ctx, None, 0, Some(&mut bodies));

    meta.body_text = if bodies.plain.is_empty() {
        bodies
            .html
            .iter()
            .map(|h| text::html_to_text(h))
            .collect::<Vec<_>>()
            .join("\n")
    } else {
        text::normalise_blank(&bodies.plain.join("\n"))
    };
    for html in &bodies.html {
        for link in cloud::find(html) {
            let expires = link.expires.clone().unwrap_or_else(|| "unknown".into());
            ctx.problem(format!("cloud_attachment:{}:{}", link.name, expires));
            ctx.docs.push(ExtractedDoc {
                container: None,
                name: link.name.clone(),
                format: "cloud_link".into(),
                is_container: true,
                bytes: Vec::new(),
                size: 0,
                declared_type: String::new(),
                cloud: Some(link),
                problems: Vec::new(),
            });
        }
    }
    Extracted {
        meta,
        documents: ctx.docs,
        problems: ctx.problems,
    }
}
