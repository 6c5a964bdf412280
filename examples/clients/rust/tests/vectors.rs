//! Replays the session vectors of `protocol/vectors/v1.json` and `v2.json`
//! through the public API of the blocking and the async client, per the
//! conformance kit's rules: one API call per frame, a pipeline per
//! multi-frame step, local size refusals for oversized frames, steps the API
//! cannot express skipped, and the number of steps replayed asserted.

mod common;

use blink_client::aio::Client;
use blink_client::{Connection, Error, Value};
use common::Server;
use common::vectors::{self, Call, Session};

/// Steps of v1.json the API can express (every_command 20, pipelined 1,
/// rejections 4 of 5, foreign_protocol_closes 1 of 2, auth_flow 8,
/// auth_failure 1, auth_without_token 1).
const V1_STEPS_REPLAYED: usize = 36;
/// Steps of v2.json: all of them (need_hello_2 9, add_and_replace 14,
/// incr_counts 15, keep_the_ttl 7, append_builds 8, value_limit 6, flush 6,
/// scan 4, pipelined 2, need_auth 7).
const V2_STEPS_REPLAYED: usize = 78;

fn server_for(session: &Session) -> Server {
    let args: Vec<&str> = session.server_args.iter().map(String::as_str).collect();
    Server::start_with_token(&args, session.token.as_deref())
}

fn call_blocking(conn: &mut Connection, call: &Call) -> Result<Value, Error> {
    Ok(match call {
        Call::Ping => conn.ping().map(|()| Value::Done)?,
        Call::Hello(version) => Value::Hello(conn.hello(*version)?),
        Call::Auth(token) => conn.auth(token).map(|()| Value::Done)?,
        Call::Get(key) => Value::Bytes(conn.get(key)?),
        Call::Set(key, value, ttl) => conn.set(key, value, *ttl).map(|()| Value::Done)?,
        Call::Del(key) => Value::Existed(conn.del(key)?),
        Call::Expire(key, ttl) => Value::Existed(conn.expire(key, *ttl)?),
        Call::Ttl(key) => Value::Ttl(conn.ttl(key)?),
        Call::Stats => Value::Stats(conn.stats()?),
        Call::Add(key, value, ttl) => Value::Stored(conn.add(key, value, *ttl)?),
        Call::Replace(key, value, ttl) => Value::Stored(conn.replace(key, value, *ttl)?),
        Call::Incr(key, delta) => Value::Integer(conn.incr(key, *delta)?),
        Call::Append(key, suffix) => Value::Length(conn.append(key, suffix)?),
        Call::Flush => conn.flush().map(|()| Value::Done)?,
        Call::Scan(cursor, count, prefix) => {
            let (next_cursor, keys) = conn.scan(*cursor, *count, prefix)?;
            Value::Scan { next_cursor, keys }
        }
    })
}

async fn call_async(client: &Client, call: &Call) -> Result<Value, Error> {
    Ok(match call {
        Call::Ping => client.ping().await.map(|()| Value::Done)?,
        Call::Hello(version) => Value::Hello(client.hello(*version).await?),
        Call::Auth(token) => client.auth(token).await.map(|()| Value::Done)?,
        Call::Get(key) => Value::Bytes(client.get(key).await?),
        Call::Set(key, value, ttl) => client.set(key, value, *ttl).await.map(|()| Value::Done)?,
        Call::Del(key) => Value::Existed(client.del(key).await?),
        Call::Expire(key, ttl) => Value::Existed(client.expire(key, *ttl).await?),
        Call::Ttl(key) => Value::Ttl(client.ttl(key).await?),
        Call::Stats => Value::Stats(client.stats().await?),
        Call::Add(key, value, ttl) => Value::Stored(client.add(key, value, *ttl).await?),
        Call::Replace(key, value, ttl) => Value::Stored(client.replace(key, value, *ttl).await?),
        Call::Incr(key, delta) => Value::Integer(client.incr(key, *delta).await?),
        Call::Append(key, suffix) => Value::Length(client.append(key, suffix).await?),
        Call::Flush => client.flush().await.map(|()| Value::Done)?,
        Call::Scan(cursor, count, prefix) => {
            let (next_cursor, keys) = client.scan(*cursor, *count, prefix).await?;
            Value::Scan { next_cursor, keys }
        }
    })
}

fn check_step(session: &Session, index: usize, calls: &[Call], results: &[Result<Value, Error>]) {
    let step = &session.steps[index];
    assert_eq!(
        results.len(),
        step.replies.len(),
        "{} step {index}",
        session.name
    );
    for (reply, (expected, (call, got))) in step
        .replies
        .iter()
        .zip(calls.iter().zip(results))
        .enumerate()
    {
        vectors::check(
            expected,
            call,
            got,
            &format!("{} step {index} reply {reply}", session.name),
        );
    }
}

/// Replays every session of `file` on the blocking client; the steps run.
fn replay_blocking(file: &str) -> usize {
    let mut replayed = 0;
    for session in vectors::sessions(file).iter().filter(|s| !s.needs_tiny_cap) {
        let server = server_for(session);
        let mut conn = Connection::connect(&server.tcp_config()).expect("connect");
        for (index, step) in session.steps.iter().enumerate() {
            let Some(calls) = &step.calls else { continue };
            let results = match &calls[..] {
                [call] => vec![call_blocking(&mut conn, call)],
                calls => conn.execute(&vectors::pipeline(calls)),
            };
            check_step(session, index, calls, &results);
            assert_eq!(
                conn.is_broken(),
                step.closed,
                "{} step {index}: connection state",
                session.name
            );
            replayed += 1;
        }
    }
    replayed
}

/// Replays every session of `file` on the async client; the steps run.
async fn replay_async(file: &str) -> usize {
    let mut replayed = 0;
    for session in vectors::sessions(file).iter().filter(|s| !s.needs_tiny_cap) {
        let server = server_for(session);
        let client = Client::connect(server.unix_config())
            .await
            .expect("connect");
        for (index, step) in session.steps.iter().enumerate() {
            let Some(calls) = &step.calls else { continue };
            let results = match &calls[..] {
                [call] => vec![call_async(&client, call).await],
                calls => client.execute(&vectors::pipeline(calls)).await,
            };
            check_step(session, index, calls, &results);
            replayed += 1;
        }
    }
    replayed
}

#[test]
fn v1_sessions_replay_through_the_blocking_client() {
    assert_eq!(replay_blocking("v1.json"), V1_STEPS_REPLAYED);
}

#[test]
fn v2_sessions_replay_through_the_blocking_client() {
    assert_eq!(replay_blocking("v2.json"), V2_STEPS_REPLAYED);
}

#[tokio::test]
async fn v1_sessions_replay_through_the_async_client() {
    assert_eq!(replay_async("v1.json").await, V1_STEPS_REPLAYED);
}

#[tokio::test]
async fn v2_sessions_replay_through_the_async_client() {
    assert_eq!(replay_async("v2.json").await, V2_STEPS_REPLAYED);
}
