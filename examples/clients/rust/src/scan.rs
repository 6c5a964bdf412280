//! Whole SCAN walks (SPEC §5.2): the cursor loop behind
//! [`Connection::scan_keys`] and the async client's `scan_keys`. A walk
//! holds one page of keys at a time: it hands them out, then asks for the
//! next page with the cursor the last one returned, and ends after the page
//! whose cursor is 0 (or after the first error).

use std::vec;

use crate::connection::Connection;
use crate::error::Result;
use crate::reply::ScanPage;

/// Where a walk stands, whichever client issues its SCANs.
#[derive(Debug)]
pub(crate) struct Walk {
    pub(crate) prefix: Vec<u8>,
    pub(crate) count: u16,
    /// The cursor to send next: 0 for the first page.
    pub(crate) cursor: u64,
    /// The current page's keys not handed out yet.
    page: vec::IntoIter<Vec<u8>>,
    /// A page with cursor 0 arrived, or a SCAN failed: no page follows.
    done: bool,
}

/// What a walk needs next.
pub(crate) enum Next {
    Key(Vec<u8>),
    /// Issue SCAN with `cursor`, `count` and `prefix`, then call [`Walk::take`].
    Page,
    End,
}

impl Walk {
    pub(crate) fn new(prefix: Vec<u8>, count: u16) -> Walk {
        Walk {
            prefix,
            count,
            cursor: 0,
            page: Vec::new().into_iter(),
            done: false,
        }
    }

    pub(crate) fn next(&mut self) -> Next {
        match self.page.next() {
            Some(key) => Next::Key(key),
            None if self.done => Next::End,
            None => Next::Page,
        }
    }

    /// Takes in a SCAN's outcome; an error ends the walk and is passed on.
    pub(crate) fn take(&mut self, page: Result<ScanPage>) -> Result<()> {
        match page {
            Ok((next_cursor, keys)) => {
                self.cursor = next_cursor;
                self.done = next_cursor == 0;
                self.page = keys.into_iter();
                Ok(())
            }
            Err(error) => {
                self.done = true;
                Err(error)
            }
        }
    }
}

/// The keys of a walk on a blocking [`Connection`], from
/// [`Connection::scan_keys`]: an iterator of `Result<key>`, a page of SCAN
/// at a time. It ends after the page whose cursor is 0; a failed SCAN is its
/// last item.
#[derive(Debug)]
pub struct ScanKeys<'c> {
    conn: &'c mut Connection,
    walk: Walk,
}

impl<'c> ScanKeys<'c> {
    pub(crate) fn new(conn: &'c mut Connection, prefix: Vec<u8>, count: u16) -> ScanKeys<'c> {
        ScanKeys {
            conn,
            walk: Walk::new(prefix, count),
        }
    }
}

impl Iterator for ScanKeys<'_> {
    type Item = Result<Vec<u8>>;

    fn next(&mut self) -> Option<Self::Item> {
        // Pages may be empty while the walk goes on: ask until a key or the end.
        loop {
            match self.walk.next() {
                Next::Key(key) => return Some(Ok(key)),
                Next::End => return None,
                Next::Page => {
                    let walk = &self.walk;
                    let page = self.conn.scan(walk.cursor, walk.count, &walk.prefix);
                    if let Err(error) = self.walk.take(page) {
                        return Some(Err(error));
                    }
                }
            }
        }
    }
}

impl std::iter::FusedIterator for ScanKeys<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    fn keys(names: &[&str]) -> Vec<Vec<u8>> {
        names.iter().map(|n| n.as_bytes().to_vec()).collect()
    }

    /// Runs a walk against scripted pages, recording the cursors it sent.
    fn walk(pages: Vec<Result<ScanPage>>) -> (Vec<Result<Vec<u8>>>, Vec<u64>) {
        let mut walk = Walk::new(b"p".to_vec(), 2);
        let mut pages = pages.into_iter();
        let (mut out, mut cursors) = (Vec::new(), Vec::new());
        loop {
            match walk.next() {
                Next::Key(key) => out.push(Ok(key)),
                Next::End => return (out, cursors),
                Next::Page => {
                    cursors.push(walk.cursor);
                    let page = pages.next().expect("a page was asked for");
                    if let Err(error) = walk.take(page) {
                        out.push(Err(error));
                    }
                }
            }
        }
    }

    #[test]
    fn a_walk_follows_the_cursors_across_empty_pages_until_0() {
        let (out, cursors) = walk(vec![
            Ok((5, keys(&["pa", "pb"]))),
            Ok((9, vec![])),
            Ok((0, keys(&["pc"]))),
        ]);
        let out: Vec<Vec<u8>> = out.into_iter().map(|k| k.expect("a key")).collect();
        assert_eq!(out, keys(&["pa", "pb", "pc"]));
        assert_eq!(cursors, [0, 5, 9]);
    }

    #[test]
    fn an_empty_store_is_one_page_and_an_error_ends_the_walk() {
        let (out, cursors) = walk(vec![Ok((0, vec![]))]);
        assert!(out.is_empty());
        assert_eq!(cursors, [0]);

        let (out, cursors) = walk(vec![Ok((3, keys(&["pa"]))), Err(Error::UnknownCommand)]);
        assert_eq!(cursors, [0, 3]);
        assert!(matches!(&out[..], [Ok(_), Err(Error::UnknownCommand)]));
    }
}
