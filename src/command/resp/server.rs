//! Connection and server commands: PING, ECHO, HELLO, AUTH, SELECT,
//! CLIENT, UNWATCH, QUIT, RESET, and what tools read about the server
//! (INFO, CONFIG GET, COMMAND).

use std::fmt::Write as _;

use super::{
    Call, Handled, Keyword, NOT_AN_INTEGER, NoRoom, RespClient, SPECS, SYNTAX_ERROR, Spec, fail,
    glob, integer,
};
use crate::command::Outcome;
use crate::protocol::resp::{Args, Version};

/// The Redis version whose commands and replies Blink-Store follows, as
/// HELLO and INFO report it (clients gate features on it).
pub const REDIS_COMPATIBLE_VERSION: &str = "7.0.0";

pub(super) fn ping(call: &mut Call<'_>, mut args: Args<'_>) -> Handled {
    match (args.next(), args.next()) {
        (None, _) => call.reply.simple("PONG"),
        (Some(message), None) => call.reply.bulk(message),
        (Some(_), Some(_)) => return Ok(super::wrong_arity(call, "ping")),
    }
    Ok(Outcome::Continue)
}

pub(super) fn echo(call: &mut Call<'_>, mut args: Args<'_>) -> Handled {
    call.reply.bulk(args.next().unwrap_or_default());
    Ok(Outcome::Continue)
}

/// Checks `token` (and `user`, which must be `default`) against the
/// configured token: the error to send, if it does not pass.
/// Without a token, as Redis's passwordless `default` user: any token for
/// `default` passes, other users fail, and a bare token is a mistake.
fn check_auth(call: &Call<'_>, user: Option<&[u8]>, token: &[u8]) -> Result<(), &'static str> {
    const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";
    let user_ok = user.is_none_or(|user| user == b"default");
    match &call.ctx.auth_token {
        None if user.is_none() => Err(
            "ERR AUTH <password> called without any password configured for the default user. \
             Are you sure your configuration is correct?",
        ),
        None if user_ok => Ok(()),
        Some(secret) if user_ok && secret.matches(token) => Ok(()),
        _ => Err(WRONGPASS),
    }
}

/// AUTH [user] token. A wrong token closes the connection, as on the
/// binary protocol (SPEC §11): guessing costs a connection per try.
pub(super) fn auth(call: &mut Call<'_>, mut args: Args<'_>) -> Handled {
    let (user, token) = match (args.next(), args.next(), args.next()) {
        (Some(token), None, _) => (None, token),
        (Some(user), Some(token), None) => (Some(user), token),
        _ => return fail(call, SYNTAX_ERROR),
    };
    match check_auth(call, user, token) {
        Ok(()) => {
            call.reply.ok();
            Ok(Outcome::Authenticated)
        }
        Err(error) => {
            call.reply.error(error);
            Ok(if call.ctx.auth_token.is_some() {
                Outcome::Close
            } else {
                Outcome::Continue
            })
        }
    }
}

/// HELLO [protover [AUTH user token] [SETNAME name]]
pub(super) fn hello(call: &mut Call<'_>, mut args: Args<'_>) -> Handled {
    let mut version = call.client.version;
    if let Some(protover) = args.next() {
        version = match integer(protover) {
            None => {
                return fail(
                    call,
                    "ERR Protocol version is not an integer or out of range",
                );
            }
            Some(2) => Version::Resp2,
            Some(3) => Version::Resp3,
            Some(_) => return fail(call, "NOPROTO unsupported protocol version"),
        };
    }
    let mut credentials = None;
    let mut name = None;
    while let Some(option) = args.next() {
        match Keyword::of(option).as_bytes() {
            b"AUTH" if args.remaining() >= 2 => credentials = Some((args.next(), args.next())),
            b"SETNAME" if args.remaining() >= 1 => name = args.next(),
            _ => {
                let option = String::from_utf8_lossy(option);
                return fail(
                    call,
                    &format!("ERR Syntax error in HELLO option '{option}'"),
                );
            }
        }
    }
    let mut outcome = Outcome::Continue;
    if let Some((user, token)) = credentials {
        if let Err(error) = check_auth(call, user, token.unwrap_or_default()) {
            call.reply.error(error);
            let close = call.ctx.auth_token.is_some();
            return Ok(if close {
                Outcome::Close
            } else {
                Outcome::Continue
            });
        }
        outcome = Outcome::Authenticated;
    } else if !call.authenticated {
        return fail(
            call,
            "NOAUTH HELLO must be called with the client already authenticated, otherwise the \
             HELLO AUTH <user> <pass> option can be used to authenticate the client and \
             select the RESP protocol version at the same time",
        );
    }
    if let Some(name) = name {
        if let Err(error) = valid_name(name) {
            return fail(call, error);
        }
        call.client.name = (!name.is_empty()).then(|| name.into());
    }
    call.client.version = version;
    call.reply.version = version;
    let reply = &mut call.reply;
    reply.map(7);
    reply.bulk(b"server");
    reply.bulk(b"blink-store");
    reply.bulk(b"version");
    reply.bulk(REDIS_COMPATIBLE_VERSION.as_bytes());
    reply.bulk(b"proto");
    reply.integer(version.number());
    reply.bulk(b"id");
    reply.integer(call.client.id as i64);
    reply.bulk(b"mode");
    reply.bulk(b"standalone");
    reply.bulk(b"role");
    reply.bulk(b"master");
    reply.bulk(b"modules");
    reply.array(0);
    Ok(outcome)
}

/// SELECT index: there is one database, 0.
pub(super) fn select(call: &mut Call<'_>, mut args: Args<'_>) -> Handled {
    match args.next().and_then(integer) {
        None => fail(call, NOT_AN_INTEGER),
        Some(0) => {
            call.reply.ok();
            Ok(Outcome::Continue)
        }
        Some(_) => fail(call, "ERR DB index is out of range"),
    }
}

/// Longest client name, library name or version a connection keeps, so
/// that CLIENT GETNAME and CLIENT INFO stay small replies.
pub const CLIENT_FIELD_MAX_BYTES: usize = 256;

/// Names hold no spaces, newlines or other special characters (Redis's
/// rule), and at most [`CLIENT_FIELD_MAX_BYTES`].
fn valid_name(name: &[u8]) -> Result<(), &'static str> {
    if name.len() > CLIENT_FIELD_MAX_BYTES {
        Err("ERR Client names are limited to 256 bytes")
    } else if name.iter().all(|&b| (b'!'..=b'~').contains(&b)) {
        Ok(())
    } else {
        Err("ERR Client names cannot contain spaces, newlines or special characters.")
    }
}

/// CLIENT SETNAME / GETNAME / ID / SETINFO / INFO
pub(super) fn client(call: &mut Call<'_>, mut args: Args<'_>) -> Handled {
    let given = args.next().unwrap_or_default();
    let sub = given.to_ascii_lowercase();
    let arity_ok = match sub.as_slice() {
        b"setname" => args.remaining() == 1,
        b"getname" | b"id" | b"info" => args.remaining() == 0,
        b"setinfo" => args.remaining() == 2,
        _ => {
            let sub = String::from_utf8_lossy(given);
            return fail(
                call,
                &format!("ERR unknown subcommand '{sub}'. Try CLIENT HELP."),
            );
        }
    };
    if !arity_ok {
        let sub = String::from_utf8_lossy(&sub);
        return fail(
            call,
            &format!("ERR wrong number of arguments for 'client|{sub}' command"),
        );
    }
    match sub.as_slice() {
        b"setname" => {
            let name = args.next().unwrap_or_default();
            if let Err(error) = valid_name(name) {
                return fail(call, error);
            }
            call.client.name = (!name.is_empty()).then(|| name.into());
            call.reply.ok();
        }
        b"getname" => match &call.client.name {
            Some(name) => call.reply.bulk(name),
            None => call.reply.null(),
        },
        b"id" => call.reply.integer(call.client.id as i64),
        b"setinfo" => {
            let given = args.next().unwrap_or_default();
            let attribute = given.to_ascii_lowercase();
            let value = args.next().unwrap_or_default();
            let slot = match attribute.as_slice() {
                b"lib-name" => &mut call.client.lib_name,
                b"lib-ver" => &mut call.client.lib_ver,
                _ => {
                    let attribute = String::from_utf8_lossy(&attribute);
                    return fail(call, &format!("ERR Unrecognized option '{attribute}'"));
                }
            };
            if valid_name(value).is_err() {
                let attribute = String::from_utf8_lossy(given);
                let error = format!(
                    "ERR {attribute} cannot contain spaces, newlines or special characters."
                );
                return fail(call, &error);
            }
            *slot = (!value.is_empty()).then(|| value.into());
            call.reply.ok();
        }
        _ => {
            let line = client_line(call.client);
            call.reply.verbatim(line.as_bytes());
        }
    }
    Ok(Outcome::Continue)
}

/// This client as a CLIENT INFO line.
fn client_line(client: &RespClient) -> String {
    let text = |field: &Option<Box<[u8]>>| {
        field
            .as_deref()
            .map(String::from_utf8_lossy)
            .unwrap_or_default()
            .into_owned()
    };
    format!(
        "id={} name={} db=0 resp={} lib-name={} lib-ver={}\n",
        client.id,
        text(&client.name),
        client.version.number(),
        text(&client.lib_name),
        text(&client.lib_ver),
    )
}

pub(super) fn quit(call: &mut Call<'_>, _args: Args<'_>) -> Handled {
    call.reply.ok();
    Ok(Outcome::Close)
}

/// RESET: back to a new connection's state (RESP2, no name, and
/// unauthenticated where a token is set).
pub(super) fn reset(call: &mut Call<'_>, _args: Args<'_>) -> Handled {
    let id = call.client.id;
    *call.client = RespClient::new(id);
    call.reply.version = Version::Resp2;
    call.reply.simple("RESET");
    Ok(if call.ctx.auth_token.is_some() {
        Outcome::Unauthenticated
    } else {
        Outcome::Continue
    })
}

/// INFO [section ...]: Redis's field names where the meaning is the same.
pub(super) fn info(call: &mut Call<'_>, args: Args<'_>) -> Handled {
    let wanted: Vec<Vec<u8>> = args.map(<[u8]>::to_ascii_lowercase).collect();
    let all = wanted.is_empty()
        || wanted
            .iter()
            .any(|s| matches!(s.as_slice(), b"all" | b"default" | b"everything"));
    let snapshot = call.ctx.snapshot(call.now_ms);
    let store = &snapshot.store;
    let counters = &snapshot.counters;
    let mut text = String::new();
    let mut section = |name: &str, body: &dyn Fn(&mut String)| {
        if all
            || wanted
                .iter()
                .any(|s| s == name.to_ascii_lowercase().as_bytes())
        {
            if !text.is_empty() {
                text.push_str("\r\n");
            }
            let _ = write!(text, "# {name}\r\n");
            body(&mut text);
        }
    };
    let uptime_s = snapshot.uptime_ms / 1000;
    section("Server", &|t| {
        let _ = write!(
            t,
            "redis_version:{REDIS_COMPATIBLE_VERSION}\r\nblink_store_version:{}\r\n\
             redis_mode:standalone\r\nos:{} {}\r\narch_bits:{}\r\nprocess_id:{}\r\n\
             tcp_port:{}\r\nuptime_in_seconds:{uptime_s}\r\nuptime_in_days:{}\r\n",
            env!("CARGO_PKG_VERSION"),
            std::env::consts::OS,
            std::env::consts::ARCH,
            usize::BITS,
            std::process::id(),
            call.ctx.tcp_port,
            uptime_s / 86_400,
        );
    });
    section("Clients", &|t| {
        let _ = write!(t, "connected_clients:{}\r\n", snapshot.connections_current);
    });
    section("Memory", &|t| {
        let _ = write!(
            t,
            "used_memory:{}\r\nused_memory_rss:{}\r\nmaxmemory:{}\r\n\
             maxmemory_policy:allkeys-lru\r\nbuffer_bytes:{}\r\n",
            store.used_bytes, snapshot.rss_bytes, store.cap_bytes, snapshot.buffer_bytes,
        );
    });
    section("Persistence", &|t| {
        t.push_str("loading:0\r\naof_enabled:0\r\nrdb_changes_since_last_save:0\r\n");
    });
    section("Stats", &|t| {
        let _ = write!(
            t,
            "total_connections_received:{}\r\ntotal_commands_processed:{}\r\n\
             rejected_connections:{}\r\n\
             total_net_input_bytes:{}\r\ntotal_net_output_bytes:{}\r\n\
             keyspace_hits:{}\r\nkeyspace_misses:{}\r\nevicted_keys:{}\r\nexpired_keys:{}\r\n",
            counters.connections_total,
            counters.commands_total(),
            counters.connections_rejected,
            counters.bytes_in,
            counters.bytes_out,
            store.hits,
            store.misses,
            store.evictions,
            store.expirations,
        );
    });
    let with_ttl = call.ctx.store.len_with_ttl();
    section("Keyspace", &|t| {
        if store.items > 0 {
            let _ = write!(
                t,
                "db0:keys={},expires={with_ttl},avg_ttl=0\r\n",
                store.items
            );
        }
    });
    call.reply.verbatim(text.as_bytes());
    Ok(Outcome::Continue)
}

/// CONFIG GET pattern [pattern ...]: the settings tools read.
pub(super) fn config(call: &mut Call<'_>, mut args: Args<'_>) -> Handled {
    let sub = args.next().unwrap_or_default();
    if !sub.eq_ignore_ascii_case(b"GET") {
        let sub = String::from_utf8_lossy(sub);
        return fail(
            call,
            &format!("ERR unknown subcommand '{sub}'. Try CONFIG HELP."),
        );
    }
    if args.remaining() == 0 {
        return fail(
            call,
            "ERR wrong number of arguments for 'config|get' command",
        );
    }
    let timeout_s = call
        .ctx
        .idle_timeout_ms
        .map_or(0, |ms| ms / 1000)
        .to_string();
    let maxmemory = call.ctx.store.cap_bytes().to_string();
    let settings: [(&str, &str); 6] = [
        ("maxmemory", &maxmemory),
        ("maxmemory-policy", "allkeys-lru"),
        ("save", ""),
        ("appendonly", "no"),
        ("timeout", &timeout_s),
        ("databases", "1"),
    ];
    let patterns: Vec<&[u8]> = args.collect();
    let chosen: Vec<&(&str, &str)> = settings
        .iter()
        .filter(|(name, _)| {
            let name = name.as_bytes();
            patterns
                .iter()
                .any(|p| glob::matches(&p.to_ascii_lowercase(), name))
        })
        .collect();
    call.reply.map(chosen.len());
    for (name, value) in chosen {
        call.reply.bulk(name.as_bytes());
        call.reply.bulk(value.as_bytes());
    }
    Ok(Outcome::Continue)
}

/// COMMAND, COMMAND COUNT, COMMAND INFO name..., COMMAND DOCS [name...]
pub(super) fn command(call: &mut Call<'_>, mut args: Args<'_>) -> Handled {
    let given = args.next();
    let sub = given.map(<[u8]>::to_ascii_lowercase);
    let chosen: Vec<Option<&Spec>> = match sub.as_deref() {
        None => SPECS.iter().map(Some).collect(),
        Some(b"count") => {
            call.reply.integer(SPECS.len() as i64);
            return Ok(Outcome::Continue);
        }
        Some(b"info") => args.map(super::lookup).collect(),
        Some(b"docs") => {
            // Documentation is not served; an empty map tells tools so.
            call.reply.map(0);
            return Ok(Outcome::Continue);
        }
        Some(_) => {
            let other = String::from_utf8_lossy(given.unwrap_or_default());
            return fail(
                call,
                &format!("ERR unknown subcommand '{other}'. Try COMMAND HELP."),
            );
        }
    };
    // Each entry is at most about 160 bytes.
    if chosen.len() * 160 + 16 > call.room_bytes {
        return Err(NoRoom);
    }
    call.reply.array(chosen.len());
    for spec in chosen {
        let Some(spec) = spec else {
            call.reply.null();
            continue;
        };
        let keyed = !matches!(
            spec.name,
            "ping"
                | "echo"
                | "hello"
                | "auth"
                | "select"
                | "client"
                | "unwatch"
                | "quit"
                | "reset"
                | "info"
                | "config"
                | "command"
                | "dbsize"
                | "flushall"
                | "flushdb"
                | "scan"
        );
        let reply = &mut call.reply;
        reply.array(10);
        reply.bulk(spec.name.as_bytes());
        reply.integer(i64::from(spec.arity));
        let flags: &[&str] = match (spec.write, spec.no_auth) {
            (true, _) => &["write"],
            (false, true) => &["fast", "no_auth"],
            (false, false) => &["readonly"],
        };
        reply.set(flags.len());
        for flag in flags {
            reply.simple(flag);
        }
        // First key, last key, step: keys start at argument 1.
        let (first, last, step) = match spec.name {
            _ if !keyed => (0, 0, 0),
            "mset" | "msetnx" => (1, -1, 2),
            "del" | "unlink" | "exists" | "mget" => (1, -1, 1),
            _ => (1, 1, 1),
        };
        reply.integer(first);
        reply.integer(last);
        reply.integer(step);
        reply.set(0);
        reply.set(0);
        reply.array(0);
        reply.array(0);
    }
    Ok(Outcome::Continue)
}
