//! [`Args`]: the arguments of one decoded command, borrowed, never copied.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::arithmetic_side_effects
)]

/// The arguments of one command (the name first), in order.
///
/// A multibulk command's arguments are read straight from the input, whose
/// headers the decoder has already checked; an inline command's were
/// unescaped into the session's scratch buffer as `u32` length + bytes.
/// Cloning is cheap (two words), so a command can look ahead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Args<'a> {
    bytes: &'a [u8],
    remaining: usize,
    layout: Layout,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Layout {
    /// `$<len>\r\n<bytes>\r\n`, repeated.
    Multibulk,
    /// `<len: u32, native order><bytes>`, repeated.
    Packed,
}

impl<'a> Args<'a> {
    /// `count` multibulk arguments at the front of `bytes` (already
    /// validated by the decoder).
    pub(super) fn multibulk(bytes: &'a [u8], count: usize) -> Args<'a> {
        Args {
            bytes,
            remaining: count,
            layout: Layout::Multibulk,
        }
    }

    /// `count` arguments packed by [`pack`].
    pub(super) fn packed(bytes: &'a [u8], count: usize) -> Args<'a> {
        Args {
            bytes,
            remaining: count,
            layout: Layout::Packed,
        }
    }

    /// Arguments not yet taken.
    pub fn remaining(&self) -> usize {
        self.remaining
    }

    fn take(&mut self) -> Option<&'a [u8]> {
        let (arg, rest) = match self.layout {
            Layout::Multibulk => {
                // `$<digits>\r\n<bytes>\r\n`, checked by the decoder.
                let mut len = 0usize;
                let mut at = 1;
                while let Some(&digit) = self.bytes.get(at).filter(|d| d.is_ascii_digit()) {
                    len = len
                        .checked_mul(10)?
                        .checked_add(usize::from(digit.wrapping_sub(b'0')))?;
                    at = at.checked_add(1)?;
                }
                let start = at.checked_add(2)?;
                let end = start.checked_add(len)?;
                (
                    self.bytes.get(start..end)?,
                    self.bytes.get(end.checked_add(2)?..)?,
                )
            }
            Layout::Packed => {
                let (len, rest) = self.bytes.split_first_chunk::<4>()?;
                let len = u32::from_ne_bytes(*len) as usize;
                (rest.get(..len)?, rest.get(len..)?)
            }
        };
        self.bytes = rest;
        Some(arg)
    }
}

impl<'a> Iterator for Args<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        self.remaining = self.remaining.checked_sub(1)?;
        let arg = self.take();
        if arg.is_none() {
            // Unreachable for decoded input; stay total regardless.
            self.remaining = 0;
        }
        arg
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for Args<'_> {}

/// Appends `arg` to `scratch` in the packed layout. Arguments come from a
/// line of at most `MAX_INLINE_BYTES`, so their length fits a `u32`.
pub(super) fn pack(arg: &[u8], scratch: &mut Vec<u8>) {
    let len = u32::try_from(arg.len()).unwrap_or(u32::MAX);
    scratch.extend_from_slice(&len.to_ne_bytes());
    scratch.extend_from_slice(arg);
}
