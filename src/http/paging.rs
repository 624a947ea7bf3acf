//! One list shape for every list: `{"items": [...], "next": cursor | null}`,
//! asked for with `limit` (1 to 200, default 50) and `cursor` (the `next` of
//! the page before). A bad `limit` or cursor is refused while the query is
//! parsed, so every list answers it with the same 400 problem+json.
//!
//! Paging is keyset paging: a cursor names the key (a `seq`, an id) of the last
//! item of its page, and the next page holds the items after that key in the
//! list's order. Rows added or changed meanwhile never shift a page, and the
//! key is taken from an item the caller was shown, so a cursor reaches no row
//! the caller could not see. The queries are the service's and the store's;
//! this module only parses, checks and renders.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::http::error::AppError;

/// Default page size.
pub const DEFAULT_LIMIT: i64 = 50;
/// Largest page size.
pub const MAX_LIMIT: i64 = 200;

/// A page size, 1 to [`MAX_LIMIT`]; anything else fails the query's parse (400).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit(i64);

impl Limit {
    pub fn get(self) -> i64 {
        self.0
    }
}

impl Default for Limit {
    fn default() -> Self {
        Limit(DEFAULT_LIMIT)
    }
}

impl<'de> Deserialize<'de> for Limit {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = i64::deserialize(d)?;
        if (1..=MAX_LIMIT).contains(&n) {
            Ok(Limit(n))
        } else {
            Err(serde::de::Error::custom(format!(
                "limit must be 1 to {MAX_LIMIT}, not {n}"
            )))
        }
    }
}

/// An opaque cursor: the `next` of an earlier page. Inside, the list it came
/// from and the key of that page's last item; a malformed one fails the
/// query's parse (400), one from another list is refused when used (400).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    list: String,
    key: String,
}

impl Cursor {
    fn new(list: &str, key: impl fmt::Display) -> Self {
        Cursor {
            list: list.to_string(),
            key: key.to_string(),
        }
    }

    fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}:{}", self.list, self.key))
    }

    fn decode(s: &str) -> Option<Cursor> {
        let raw = URL_SAFE_NO_PAD.decode(s).ok()?;
        let text = String::from_utf8(raw).ok()?;
        let (list, key) = text.split_once(':')?;
        let known = !list.is_empty() && list.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
        let clean = !key.is_empty() && !key.chars().any(char::is_control);
        (known && clean).then(|| Cursor::new(list, key))
    }
}

impl<'de> Deserialize<'de> for Cursor {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Cursor::decode(&s).ok_or_else(|| {
            serde::de::Error::custom(
                "cursor is not one this service gave out (use a page's `next`)",
            )
        })
    }
}

/// The query of a list that takes nothing but paging.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page size, 1 to 200; default 50.
    #[param(value_type = Option<i64>, minimum = 1, maximum = 200)]
    pub limit: Option<Limit>,
    /// The `next` of the page before; absent for the first page.
    #[param(value_type = Option<String>)]
    pub cursor: Option<Cursor>,
}

impl PageQuery {
    pub fn paging(self, list: &'static str) -> Paging {
        Paging::new(list, self.limit, self.cursor)
    }
}

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// The cursor of the next page; null on the last page.
    #[schema(required = true)]
    pub next: Option<String>,
}

impl<T> Page<T> {
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next: self.next,
        }
    }
}

/// A list request's paging, checked: which list, how many, after which key.
#[derive(Debug, Clone)]
pub struct Paging {
    list: &'static str,
    limit: i64,
    cursor: Option<Cursor>,
}

impl Paging {
    /// `list` names the list in its cursors (one lowercase word).
    pub fn new(list: &'static str, limit: Option<Limit>, cursor: Option<Cursor>) -> Paging {
        Paging {
            list,
            limit: limit.unwrap_or_default().get(),
            cursor,
        }
    }

    pub fn limit(&self) -> i64 {
        self.limit
    }

    /// How many rows to fetch: one more than a page, to know whether another follows.
    pub fn fetch(&self) -> i64 {
        self.limit + 1
    }

    fn key(&self) -> Result<Option<&str>, AppError> {
        match &self.cursor {
            None => Ok(None),
            Some(c) if c.list == self.list => Ok(Some(c.key.as_str())),
            Some(_) => Err(AppError::BadRequest(format!(
                "cursor is not from this list ({})",
                self.list
            ))),
        }
    }

    /// The numeric key (a `seq`) the page starts after, if a cursor was given.
    pub fn after_seq(&self) -> Result<Option<i64>, AppError> {
        self.key()?
            .map(|k| {
                k.parse::<i64>()
                    .map_err(|_| AppError::BadRequest("cursor is malformed".into()))
            })
            .transpose()
    }

    /// The text key (an id) the page starts after, if a cursor was given.
    pub fn after_key(&self) -> Result<Option<String>, AppError> {
        Ok(self.key()?.map(str::to_string))
    }

    /// The page out of up to [`Paging::fetch`] rows in the list's order; `key`
    /// gives an item's key, which the next page's cursor carries.
    pub fn page<T, K: fmt::Display>(&self, mut rows: Vec<T>, key: impl Fn(&T) -> K) -> Page<T> {
        let limit = usize::try_from(self.limit).unwrap_or(0);
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next = if more {
            rows.last()
                .map(|last| Cursor::new(self.list, key(last)).encode())
        } else {
            None
        };
        Page { items: rows, next }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_and_junk_does_not_parse() {
        let c = Cursor::new("disputes", 42).encode();
        assert_eq!(Cursor::decode(&c), Some(Cursor::new("disputes", 42)));
        for bad in [
            "",
            "x",
            "!!",
            &URL_SAFE_NO_PAD.encode("nokey"),
            &URL_SAFE_NO_PAD.encode("Up:1"),
        ] {
            assert_eq!(Cursor::decode(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_page_carries_the_last_key_only_when_more_follow() {
        let p = Paging::new("t", Some(Limit(2)), None);
        let full = p.page(vec![1, 2, 3], |n| *n);
        assert_eq!(full.items, vec![1, 2]);
        let next = full.next.expect("a next page");
        assert_eq!(Cursor::decode(&next), Some(Cursor::new("t", 2)));
        let last = p.page(vec![1, 2], |n| *n);
        assert_eq!(last.next, None);
    }

    #[test]
    fn a_cursor_from_another_list_is_refused() {
        let other = Some(Cursor::new("webhooks", 3));
        assert!(Paging::new("disputes", None, other).after_seq().is_err());
        let own = Some(Cursor::new("disputes", 3));
        assert_eq!(
            Paging::new("disputes", None, own).after_seq().ok(),
            Some(Some(3))
        );
    }
}
