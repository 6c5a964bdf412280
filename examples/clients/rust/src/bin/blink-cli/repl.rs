//! The interactive mode: one command per line on stdin, in the command
//! line's syntax, with shell-like quoting so keys and values can hold any
//! byte: `'single quotes'` are literal; `"double quotes"` take `\"`, `\\`,
//! `\n`, `\t`, `\r`, `\0` and `\xHH`. Values print quoted the same way.

use std::ffi::OsString;
use std::io::{self, BufRead, IsTerminal, Write};
use std::process::ExitCode;

use blink_client::{Config, Connection};
use clap::Parser;

use crate::{Command, Format, Outcome, exit_code, run};

/// One REPL line, parsed by the same clap definitions as the command line.
#[derive(Debug, Parser)]
#[command(
    no_binary_name = true,
    disable_help_flag = true,
    disable_version_flag = true
)]
struct Line {
    #[command(subcommand)]
    command: Command,
}

/// Reads commands until EOF or `quit`. Reconnects when a connection broke.
/// Exits with the code of the last failed command, or 0.
pub(crate) fn run_lines(config: &Config) -> ExitCode {
    let interactive = io::stdin().is_terminal();
    let mut conn: Option<Connection> = None;
    let mut last_failure = 0;
    let stdout = io::stdout();
    let mut out = stdout.lock();
    for line in io::stdin().lock().split(b'\n') {
        let Ok(line) = line else { break };
        let words = match split(&line) {
            Ok(words) if words.is_empty() => continue,
            Ok(words) => words,
            Err(message) => {
                eprintln!("(error) {message}");
                continue;
            }
        };
        if matches!(&words[..], [word] if word == b"quit" || word == b"exit") {
            break;
        }
        let words: Result<Vec<OsString>, String> = words.into_iter().map(os_string).collect();
        let words = match words {
            Ok(words) => words,
            Err(message) => {
                eprintln!("(error) {message}");
                continue;
            }
        };
        let command = match Line::try_parse_from(words) {
            Ok(line) => line.command,
            Err(error) => {
                eprintln!("{error}");
                continue;
            }
        };
        if conn.as_ref().is_none_or(Connection::is_broken) {
            conn = match Connection::connect(config) {
                Ok(fresh) => Some(fresh),
                Err(error) => {
                    eprintln!("(error) {error}");
                    last_failure = exit_code(&error);
                    continue;
                }
            };
        }
        let Some(live) = conn.as_mut() else { continue };
        match run(live, command, &mut out, Format::Quoted) {
            Ok(Outcome::Done) => {}
            Ok(Outcome::NotFound) => println!("(not found)"),
            Ok(Outcome::Exists) => println!("(exists)"),
            Err(error) => {
                eprintln!("(error) {error}");
                last_failure = exit_code(&error);
            }
        }
        if interactive {
            let _ = out.flush();
        }
    }
    ExitCode::from(last_failure)
}

/// Splits a line into words, honouring quotes and escapes.
pub(crate) fn split(line: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let mut words = Vec::new();
    let mut bytes = line.iter().copied().peekable();
    loop {
        while bytes.next_if(|b| b.is_ascii_whitespace()).is_some() {}
        if bytes.peek().is_none() {
            return Ok(words);
        }
        let mut word = Vec::new();
        while let Some(b) = bytes.next_if(|b| !b.is_ascii_whitespace()) {
            match b {
                b'\'' => loop {
                    match bytes.next() {
                        Some(b'\'') => break,
                        Some(b) => word.push(b),
                        None => return Err("unterminated '".into()),
                    }
                },
                b'"' => loop {
                    match bytes.next() {
                        Some(b'"') => break,
                        Some(b'\\') => word.push(unescape(&mut bytes)?),
                        Some(b) => word.push(b),
                        None => return Err("unterminated \"".into()),
                    }
                },
                b => word.push(b),
            }
        }
        words.push(word);
    }
}

fn unescape(bytes: &mut impl Iterator<Item = u8>) -> Result<u8, String> {
    Ok(match bytes.next() {
        Some(b'n') => b'\n',
        Some(b't') => b'\t',
        Some(b'r') => b'\r',
        Some(b'0') => 0,
        Some(b'x') => {
            let hex = [bytes.next(), bytes.next()];
            let [Some(hi), Some(lo)] = hex else {
                return Err("\\x needs two hex digits".into());
            };
            let digits = std::str::from_utf8(&[hi, lo])
                .map(str::to_owned)
                .unwrap_or_default();
            u8::from_str_radix(&digits, 16).map_err(|_| format!("bad escape \\x{digits}"))?
        }
        Some(b @ (b'"' | b'\\')) => b,
        Some(b) => return Err(format!("unknown escape \\{}", b as char)),
        None => return Err("a line cannot end in \\".into()),
    })
}

/// A value as a double-quoted word that [`split`] reads back exactly.
pub(crate) fn quote(value: &[u8]) -> String {
    let mut quoted = String::with_capacity(value.len() + 2);
    quoted.push('"');
    for &b in value {
        match b {
            b'"' => quoted.push_str("\\\""),
            b'\\' => quoted.push_str("\\\\"),
            b'\n' => quoted.push_str("\\n"),
            b'\t' => quoted.push_str("\\t"),
            b'\r' => quoted.push_str("\\r"),
            0x20..=0x7e => quoted.push(b as char),
            _ => quoted.push_str(&format!("\\x{b:02x}")),
        }
    }
    quoted.push('"');
    quoted
}

/// A word as an argument: any bytes on Unix, where arguments are bytes.
#[cfg(unix)]
fn os_string(word: Vec<u8>) -> Result<OsString, String> {
    use std::os::unix::ffi::OsStringExt;
    Ok(OsString::from_vec(word))
}

/// A word as an argument: elsewhere arguments are text, so a word must be
/// UTF-8 (a key or value with other bytes needs a Unix system).
#[cfg(not(unix))]
fn os_string(word: Vec<u8>) -> Result<OsString, String> {
    String::from_utf8(word)
        .map(OsString::from)
        .map_err(|_| "a word that is not UTF-8 needs a Unix system".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_splits_like_a_shell() {
        let words = split(br#"set 'a b' "c\"d\x00\n" plain"#).expect("valid line");
        assert_eq!(
            words,
            vec![
                b"set".to_vec(),
                b"a b".to_vec(),
                b"c\"d\0\n".to_vec(),
                b"plain".to_vec()
            ]
        );
        assert_eq!(split(b"   ").expect("blank"), Vec::<Vec<u8>>::new());
        assert!(split(b"get 'open").is_err());
        assert!(split(br#"get "\q""#).is_err());
    }

    #[test]
    fn every_byte_survives_quote_then_split() {
        let all: Vec<u8> = (0..=255).collect();
        let words = split(quote(&all).as_bytes()).expect("quoted");
        assert_eq!(words, vec![all]);
    }
}
