//! Replays the session vectors of `protocol/vectors/v1.json` through the
//! public API of the blocking and the async client, per the conformance
//! kit's rules: one API call per frame, a pipeline per multi-frame step,
//! local size refusals for oversized frames, steps the API cannot express
//! skipped, and the number of steps replayed asserted.

mod common;

use blink_client::aio::Client;
use blink_client::{Connection, Error, Value};
use common::Server;
use common::vectors::{self, Call, Session};

/// Steps of v1.json the API can express (every_command 20, pipelined 1,
/// rejections 4 of 5, auth_flow 8, auth_failure 1, auth_without_token 1).
const STEPS_REPLAYED: usize = 36;

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
    })
}

#[test]
fn sessions_replay_through_the_blocking_client() {
    let mut replayed = 0;
    for session in vectors::sessions().iter().filter(|s| !s.needs_tiny_cap) {
        let server = server_for(session);
        let mut conn = Connection::connect(&server.tcp_config()).expect("connect");
        for (index, step) in session.steps.iter().enumerate() {
            let Some(calls) = &step.calls else { continue };
            let results = match &calls[..] {
                [call] => vec![call_blocking(&mut conn, call)],
                calls => conn.execute(&vectors::pipeline(calls)),
            };
            assert_eq!(
                results.len(),
                step.replies.len(),
                "{} step {index}",
                session.name
            );
            for (reply, (expected, got)) in step.replies.iter().zip(&results).enumerate() {
                vectors::check(
                    expected,
                    got,
                    &format!("{} step {index} reply {reply}", session.name),
                );
            }
            assert_eq!(
                conn.is_broken(),
                step.closed,
                "{} step {index}: connection state",
                session.name
            );
            replayed += 1;
        }
    }
    assert_eq!(replayed, STEPS_REPLAYED);
}

#[tokio::test]
async fn sessions_replay_through_the_async_client() {
    let mut replayed = 0;
    for session in vectors::sessions().iter().filter(|s| !s.needs_tiny_cap) {
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
            assert_eq!(
                results.len(),
                step.replies.len(),
                "{} step {index}",
                session.name
            );
            for (reply, (expected, got)) in step.replies.iter().zip(&results).enumerate() {
                vectors::check(
                    expected,
                    got,
                    &format!("{} step {index} reply {reply}", session.name),
                );
            }
            replayed += 1;
        }
    }
    assert_eq!(replayed, STEPS_REPLAYED);
}
