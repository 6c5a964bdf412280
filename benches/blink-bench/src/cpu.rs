//! Server CPU time from `/proc/PID/stat`.
//!
//! Reads `utime + stime` (fields 14 and 15: CPU time of all the process's
//! threads, user and kernel) before and after a run; their difference over
//! the requests completed is the server's CPU cost per request. The unit is
//! the kernel's `USER_HZ` clock tick (`sysconf(_SC_CLK_TCK)`, 100 on Linux),
//! so a run needs a few seconds for the 10 ms resolution not to matter.
//!
//! The command name (field 2) is in parentheses and may itself contain
//! spaces or parentheses, so fields are counted after the *last* `)`.

use std::io;

/// Field index of `utime` counted from the first field after the command
/// name (`state` is index 0; `utime` is field 14 of the whole line).
const UTIME_INDEX_AFTER_COMM: usize = 11;

/// `utime + stime` in clock ticks, parsed from the text of `/proc/PID/stat`.
pub fn parse_stat_ticks(stat: &str) -> Result<u64, String> {
    let after_comm = stat
        .rfind(')')
        .map(|at| &stat[at + 1..])
        .ok_or("no ')' after the command name")?;
    let mut fields = after_comm.split_whitespace().skip(UTIME_INDEX_AFTER_COMM);
    let mut tick_field = |name: &str| -> Result<u64, String> {
        let text = fields
            .next()
            .ok_or(format!("stat line ends before {name}"))?;
        text.parse::<u64>()
            .map_err(|e| format!("{name} {text:?}: {e}"))
    };
    let utime = tick_field("utime")?;
    let stime = tick_field("stime")?;
    Ok(utime + stime)
}

/// Clock ticks per second of `/proc` times.
fn ticks_per_s() -> u64 {
    // SAFETY: sysconf only reads a constant of the C library.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(ticks).ok().filter(|&t| t > 0).unwrap_or(100)
}

/// CPU microseconds process `pid` has used so far (user + system, all threads).
pub fn process_cpu_us(pid: u32) -> io::Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let ticks =
        parse_stat_ticks(&stat).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    Ok(ticks * 1_000_000 / ticks_per_s())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_real_stat_line() {
        let stat = "1234 (redis-server) S 1 1234 1234 0 -1 4194560 1234 0 0 0 752 31 0 0 20 0 5 0 99 0 0\n";
        assert_eq!(parse_stat_ticks(stat), Ok(783));
    }

    #[test]
    fn command_names_with_spaces_and_parens_are_skipped() {
        let stat = "77 (a) b (c d)) R 1 77 77 0 -1 0 0 0 0 0 10 20 0 0 20 0 1 0 5 0 0";
        assert_eq!(parse_stat_ticks(stat), Ok(30));
    }

    #[test]
    fn truncated_or_garbled_lines_are_errors() {
        assert!(parse_stat_ticks("12 (x) S 1 2 3").is_err());
        assert!(parse_stat_ticks("no parens at all").is_err());
        assert!(parse_stat_ticks("1 (x) S 1 1 1 0 -1 0 0 0 0 0 ab 2").is_err());
    }

    #[test]
    fn reads_this_process() {
        let before = process_cpu_us(std::process::id()).unwrap();
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        assert!(process_cpu_us(std::process::id()).unwrap() >= before);
    }
}
