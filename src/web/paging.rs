//! Paging and sorting of the page's lists: `?page=N&per=M&sort=KEY&dir=asc|desc` on
//! every list, clickable column headers that sort, and the "上一页 / 下一页" links. The
//! other query parameters (filters, search) are carried along in every link.

use super::html::{html_escape as esc, url_encode};
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Rows per page unless `per` says otherwise.
pub const PER_PAGE: usize = 50;
const MAX_PER_PAGE: usize = 500;

/// One list request: where it is, its query (for the links), page and sort order.
#[derive(Debug, Clone)]
pub struct ListQuery {
    pub path: String,
    /// Every query parameter as sent, except paging and sorting.
    pub keep: BTreeMap<String, String>,
    /// 1-based.
    pub page: usize,
    pub per: usize,
    pub sort: Option<String>,
    pub desc: bool,
}

impl ListQuery {
    pub fn new(path: &str, q: &std::collections::HashMap<String, String>) -> ListQuery {
        let num = |k: &str| q.get(k).and_then(|v| v.trim().parse::<usize>().ok());
        let keep = q
            .iter()
            .filter(|(k, v)| {
                !matches!(k.as_str(), "page" | "per" | "sort" | "dir") && !v.trim().is_empty()
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        ListQuery {
            path: path.to_string(),
            keep,
            page: num("page").unwrap_or(1).max(1),
            per: num("per").unwrap_or(PER_PAGE).clamp(1, MAX_PER_PAGE),
            sort: q.get("sort").filter(|s| !s.is_empty()).cloned(),
            desc: q.get("dir").is_some_and(|d| d == "desc"),
        }
    }

    fn link(&self, page: usize, sort: Option<&str>, desc: bool) -> String {
        let mut parts: Vec<String> = self
            .keep
            .iter()
            .map(|(k, v)| format!("{}={}", url_encode(k), url_encode(v)))
            .collect();
        if let Some(s) = sort {
            parts.push(format!("sort={}", url_encode(s)));
            if desc {
                parts.push("dir=desc".into());
            }
        }
        if page > 1 {
            parts.push(format!("page={page}"));
        }
        if self.per != PER_PAGE {
            parts.push(format!("per={}", self.per));
        }
        if parts.is_empty() {
            self.path.clone()
        } else {
            format!("{}?{}", self.path, parts.join("&"))
        }
    }

    /// Sorts `items` by the column the query names (`cols`: key → comparison), in
    /// place; an unknown key leaves the default order.
    pub fn sort<T, C: Fn(&T, &T) -> Ordering>(&self, items: &mut [T], cols: &[(&str, C)]) {
        let Some(key) = self.sort.as_deref() else {
            return;
        };
        if let Some((_, cmp)) = cols.iter().find(|(k, _)| *k == key) {
            items.sort_by(|a, b| {
                let o = cmp(a, b);
                if self.desc {
                    o.reverse()
                } else {
                    o
                }
            });
        }
    }

    /// This page's slice of `items`.
    pub fn slice<'i, T>(&self, items: &'i [T]) -> &'i [T] {
        let start = (self.page - 1).saturating_mul(self.per).min(items.len());
        let end = start.saturating_add(self.per).min(items.len());
        &items[start..end]
    }

    /// Header cells (already HTML) for [`super::html::table_html`]: a sortable column
    /// is a link that sorts by it, again to reverse; the current one has an arrow.
    pub fn header(&self, cols: &[(&str, Option<&str>)]) -> Vec<String> {
        cols.iter()
            .map(|(label, key)| match key {
                None => esc(label),
                Some(k) => {
                    let current = self.sort.as_deref() == Some(*k);
                    let desc = current && !self.desc;
                    let arrow = match (current, self.desc) {
                        (true, false) => " ▲",
                        (true, true) => " ▼",
                        _ => "",
                    };
                    format!(
                        "<a class=\"sort\" href=\"{}\">{}{arrow}</a>",
                        esc(&self.link(1, Some(k), desc)),
                        esc(label)
                    )
                }
            })
            .collect()
    }

    /// "共 N 项，第 p / P 页" with links to the previous and next page.
    pub fn pager(&self, total: usize, unit: &str) -> String {
        let pages = total.div_ceil(self.per).max(1);
        let page = self.page.min(pages);
        let mut b = format!("<p class=\"pager\">共 {total} {unit}，第 {page} / {pages} 页");
        let sort = self.sort.as_deref();
        if page > 1 {
            let _ = write!(
                b,
                " <a rel=\"prev\" href=\"{}\">上一页</a>",
                esc(&self.link(page - 1, sort, self.desc))
            );
        }
        if page < pages {
            let _ = write!(
                b,
                " <a rel=\"next\" href=\"{}\">下一页</a>",
                esc(&self.link(page + 1, sort, self.desc))
            );
        }
        b.push_str("</p>\n");
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn q(pairs: &[(&str, &str)]) -> ListQuery {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ListQuery::new("/apps", &m)
    }

    #[test]
    fn pages_sorts_and_keeps_the_filters_in_links() {
        let l = q(&[
            ("page", "2"),
            ("per", "2"),
            ("sort", "n"),
            ("dir", "desc"),
            ("q", "一中"),
        ]);
        let mut v = vec![1, 5, 3, 4, 2];
        l.sort(&mut v, &[("n", |a: &i32, b: &i32| a.cmp(b))]);
        assert_eq!(v, [5, 4, 3, 2, 1]);
        assert_eq!(l.slice(&v), [3, 2]);
        let p = l.pager(5, "项");
        assert!(p.contains("共 5 项，第 2 / 3 页"), "{p}");
        assert!(
            p.contains("href=\"/apps?q=%E4%B8%80%E4%B8%AD&amp;sort=n&amp;dir=desc&amp;per=2\""),
            "{p}"
        );
        assert!(p.contains("page=3"), "{p}");
        let h = l.header(&[("编号", Some("n")), ("名称", None)]);
        assert!(
            h[0].contains("sort=n&amp;per=2") && h[0].contains('▼'),
            "{}",
            h[0]
        );
        assert_eq!(h[1], "名称");
        // Past the end: an empty slice, the pager names the last page.
        let far = q(&[("page", "9")]);
        assert!(far.slice(&v).is_empty());
    }
}
