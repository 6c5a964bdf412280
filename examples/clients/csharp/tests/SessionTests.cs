// The vectors' sessions (protocol/vectors/v1.json and v2.json) replayed through the public API on
// a fresh server each, by the conformance kit's rules (examples/clients/conformance/README.md).
using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Threading.Tasks;
using NUnit.Framework;

namespace BlinkStore.Client.Tests
{
    [TestFixture, Timeout(120000)]
    public class SessionTests
    {
        /// <summary>
        /// The v1.json steps the API can express (every one but unknown opcodes, malformed or foreign
        /// frames, bare headers and HELLO version 0); a change to the vectors that shrinks it fails the test.
        /// </summary>
        const int V1StepsReplayed = 35;

        /// <summary>
        /// The v2.json steps replayed: every step of every session (add_and_replace 14,
        /// incr_counts_and_refuses 15, incr_and_append_keep_the_ttl 7, append_builds_a_value 8,
        /// append_holds_to_the_value_limit 6, flush_empties_the_store 6, scan_answers_in_pages 4,
        /// pipelined_v2_commands 2, v2_commands_need_auth 7) but HELLO 255 in v2_commands_need_hello_2
        /// (8 of 9): the API asks only for versions it speaks.
        /// </summary>
        const int V2StepsReplayed = 77;

        [Test]
        public async Task V1SessionsThroughTheApi() =>
            Assert.AreEqual(V1StepsReplayed, await ReplayAll(Vectors.V1), "v1.json session steps replayed");

        [Test]
        public async Task V2SessionsThroughTheApi() =>
            Assert.AreEqual(V2StepsReplayed, await ReplayAll(Vectors.V2), "v2.json session steps replayed");

        static async Task<int> ReplayAll(VectorFile file)
        {
            int replayed = 0;
            foreach (var session in file.Section("sessions"))
            {
                var server = (Dictionary<string, object>)session["server"];
                if (server.ContainsKey("cap_bytes"))
                    continue; // a memory cap below the server's minimum: the server's own tests cover it
                var limits = file.Limits((string)server["limits"]);
                replayed += await Replay($"{file.Name} {session["name"]}", server, limits, (IList)session["steps"]);
            }
            return replayed;
        }

        static async Task<int> Replay(string name, Dictionary<string, object> server, Dictionary<string, object> limits, IList steps)
        {
            string token = server["token"] == null ? null : Encoding.UTF8.GetString(Vectors.Bytes(server["token"]));
            string[] args =
            {
                "--max-frame-bytes", limits["max_frame_bytes"].ToString(),
                "--max-key-bytes", limits["max_key_bytes"].ToString(),
                "--max-value-bytes", limits["max_value_bytes"].ToString(),
            };
            int replayed = 0;
            using (var s = TestServer.Start(token, args: args))
            using (var connection = await BlinkConnection.ConnectAsync(s.TcpOptions()))
            {
                for (int i = 0; i < steps.Count; i++)
                {
                    var step = (Dictionary<string, object>)steps[i];
                    List<Request> frames = RequestFrames.Decode(Vectors.Bytes(step["send"]));
                    if (frames == null)
                        continue; // not expressible through the API: the server's tests send it
                    var replies = ((IList)step["replies"]).Cast<Dictionary<string, object>>().ToList();
                    Assert.AreEqual(replies.Count, frames.Count, $"{name} step {i}: frames vs replies");
                    replayed++;
                    List<Task<object>> outcomes = await Issue(connection, frames);
                    for (int j = 0; j < frames.Count; j++)
                        await Check($"{name} step {i} frame {j} ({frames[j].Op})", frames[j], limits, replies[j], outcomes[j]);
                    if ((string)step["then"] == "closed")
                        await Expect.Throws<BlinkConnectionException>(() => connection.PingAsync(), $"{name} step {i}: the connection should be dropped");
                }
            }
            return replayed;
        }

        /// <summary>
        /// One call for one frame; several frames pipelined: a batch, or, for a step with HELLO or AUTH
        /// (which a batch does not take), calls issued back to back before any reply is awaited.
        /// </summary>
        static async Task<List<Task<object>>> Issue(BlinkConnection connection, List<Request> frames)
        {
            if (frames.Count == 1)
                return new List<Task<object>> { Call(connection, frames[0]) };
            if (frames.Any(f => f.Op == Opcode.Hello || f.Op == Opcode.Auth))
            {
                var calls = frames.Select(f => Call(connection, f)).ToList();
                await Task.WhenAny(Task.WhenAll(calls));
                return calls;
            }
            var batch = connection.CreateBatch();
            var outcomes = frames.Select(f => Queue(batch, f)).ToList();
            await Task.WhenAny(batch.ExecuteAsync());
            return outcomes;
        }

        static Task<object> Call(BlinkConnection c, Request r)
        {
            switch (r.Op)
            {
                case Opcode.Ping: return Box(c.PingAsync());
                case Opcode.Hello: return Box(c.HelloAsync(r.Version));
                case Opcode.Auth: return Box(c.AuthAsync(r.Value));
                case Opcode.Get: return Box(c.GetAsync(r.Key));
                case Opcode.Set: return Box(r.TtlMs == 0 ? c.SetAsync(r.Key, r.Value) : c.SetAsync(r.Key, r.Value, r.TtlMs));
                case Opcode.Del: return Box(c.DelAsync(r.Key));
                case Opcode.Expire: return Box(r.TtlMs == 0 ? c.PersistAsync(r.Key) : c.ExpireAsync(r.Key, r.TtlMs));
                case Opcode.Ttl: return Box(c.TtlAsync(r.Key));
                case Opcode.Stats: return Box(c.StatsAsync());
                case Opcode.Add: return Box(r.TtlMs == 0 ? c.AddAsync(r.Key, r.Value) : c.AddAsync(r.Key, r.Value, r.TtlMs));
                case Opcode.Replace: return Box(r.TtlMs == 0 ? c.ReplaceAsync(r.Key, r.Value) : c.ReplaceAsync(r.Key, r.Value, r.TtlMs));
                case Opcode.Incr: return Box(c.IncrAsync(r.Key, r.Delta));
                case Opcode.Append: return Box(c.AppendAsync(r.Key, r.Value));
                case Opcode.Flush: return Box(c.FlushAsync());
                case Opcode.Scan: return Box(c.ScanAsync(r.Cursor, r.Count, r.Value));
                default: throw new ArgumentException($"no API call for {r.Op}");
            }
        }

        static Task<object> Queue(BlinkBatch b, Request r)
        {
            switch (r.Op)
            {
                case Opcode.Ping: return Box(b.PingAsync());
                case Opcode.Get: return Box(b.GetAsync(r.Key));
                case Opcode.Set: return Box(r.TtlMs == 0 ? b.SetAsync(r.Key, r.Value) : b.SetAsync(r.Key, r.Value, r.TtlMs));
                case Opcode.Del: return Box(b.DelAsync(r.Key));
                case Opcode.Expire: return Box(r.TtlMs == 0 ? b.PersistAsync(r.Key) : b.ExpireAsync(r.Key, r.TtlMs));
                case Opcode.Ttl: return Box(b.TtlAsync(r.Key));
                case Opcode.Stats: return Box(b.StatsAsync());
                case Opcode.Add: return Box(r.TtlMs == 0 ? b.AddAsync(r.Key, r.Value) : b.AddAsync(r.Key, r.Value, r.TtlMs));
                case Opcode.Replace: return Box(r.TtlMs == 0 ? b.ReplaceAsync(r.Key, r.Value) : b.ReplaceAsync(r.Key, r.Value, r.TtlMs));
                case Opcode.Incr: return Box(b.IncrAsync(r.Key, r.Delta));
                case Opcode.Append: return Box(b.AppendAsync(r.Key, r.Value));
                case Opcode.Flush: return Box(b.FlushAsync());
                case Opcode.Scan: return Box(b.ScanAsync(r.Cursor, r.Count, r.Value));
                default: throw new ArgumentException($"{r.Op} cannot be batched");
            }
        }

        static async Task<object> Box<T>(Task<T> task) => await task;

        static async Task<object> Box(Task task)
        {
            await task;
            return null;
        }

        static async Task Check(string what, Request r, Dictionary<string, object> limits, Dictionary<string, object> want, Task<object> outcome)
        {
            string status = (string)want["status"];
            if (status.StartsWith("ERR_"))
            {
                Exception error = await Expect.Throws<Exception>(() => outcome, what);
                Assert.IsInstanceOf(ErrorType(status), error, what);
                if (error is BlinkKeyTooLargeException || error is BlinkValueTooLargeException)
                    Assert.AreEqual(OverLimits(r, limits), ((BlinkRejectedException)error).IsLocal,
                        $"{what}: a frame over the limits is refused locally, and only such a frame");
                return;
            }
            object result = await outcome;
            switch (status)
            {
                case "NOT_FOUND":
                    Assert.IsTrue(result == null || false.Equals(result), $"{what}: got {result}, want absent");
                    return;
                case "EXISTS":
                    Assert.AreEqual(Opcode.Add, r.Op, $"{what}: EXISTS answers ADD only");
                    Assert.AreEqual(false, result, what);
                    return;
            }
            Assert.AreEqual("OK", status, what);
            CheckOk(what, r, want, result);
        }

        static void CheckOk(string what, Request r, Dictionary<string, object> want, object result)
        {
            switch (r.Op)
            {
                case Opcode.Get:
                    CollectionAssert.AreEqual(Vectors.Bytes(want["body"]), (byte[])result, what);
                    break;
                case Opcode.Hello:
                    var hello = (HelloInfo)result;
                    byte[] body = Vectors.Bytes(want["body"]);
                    Assert.AreEqual(body[0], hello.Version, what);
                    Assert.AreEqual((body[1] & 1) != 0, hello.AuthRequired, what);
                    Assert.AreEqual(Wire.ReadUInt32(body, 2), hello.Limits.MaxFrameBytes, what);
                    Assert.AreEqual(Wire.ReadUInt32(body, 6), hello.Limits.MaxKeyBytes, what);
                    Assert.AreEqual(Wire.ReadUInt32(body, 10), hello.Limits.MaxValueBytes, what);
                    break;
                case Opcode.Ttl:
                    var ttl = (KeyTtl?)result;
                    Assert.IsTrue(ttl.HasValue, what);
                    Assert.AreEqual(want.ContainsKey("body_len") && Convert.ToInt32(want["body_len"]) == Wire.TtlBodyBytes, ttl.Value.HasTtl, what);
                    break;
                case Opcode.Del:
                case Opcode.Expire:
                case Opcode.Add:
                case Opcode.Replace:
                    Assert.AreEqual(true, result, what);
                    break;
                case Opcode.Incr:
                case Opcode.Append:
                    Assert.AreEqual(Wire.ReadInt64(Vectors.Bytes(want["body"]), 0), (long)result, what);
                    break;
                case Opcode.Scan:
                    // A page depends on the server's index: any page of the right shape.
                    foreach (byte[] key in ((ScanPage)result).Keys)
                        Assert.IsTrue(key.Take(r.Value.Length).SequenceEqual(r.Value) && key.Length >= r.Value.Length, $"{what}: a key without the prefix");
                    break;
                case Opcode.Stats:
                    Assert.IsNotEmpty((Dictionary<string, ulong>)result, what);
                    break;
            }
        }

        /// <summary>Whether the frame's key or value is over the session's limits (what the client checks before sending).</summary>
        static bool OverLimits(Request r, Dictionary<string, object> limits) =>
            (r.Key != null && r.Key.Length > Convert.ToInt32(limits["max_key_bytes"]))
            || (r.ValueIsStored && r.Value.Length > Convert.ToInt32(limits["max_value_bytes"]));

        /// <summary>The exception each error status maps to (SPEC §13).</summary>
        internal static Type ErrorType(string status)
        {
            switch (status)
            {
                case "ERR_KEY_TOO_LARGE": return typeof(BlinkKeyTooLargeException);
                case "ERR_VALUE_TOO_LARGE": return typeof(BlinkValueTooLargeException);
                case "ERR_ITEM_TOO_LARGE": return typeof(BlinkItemTooLargeException);
                case "ERR_AUTH_REQUIRED": return typeof(BlinkAuthRequiredException);
                case "ERR_AUTH_FAILED": return typeof(BlinkAuthFailedException);
                case "ERR_UNSUPPORTED_VERSION": return typeof(BlinkUnsupportedVersionException);
                case "ERR_UNKNOWN_COMMAND": return typeof(BlinkUnknownCommandException);
                case "ERR_NOT_INTEGER": return typeof(BlinkNotIntegerException);
                case "ERR_TOO_MANY_CONNECTIONS": return typeof(BlinkTooManyConnectionsException);
                case "ERR_MALFORMED":
                case "ERR_FRAME_TOO_LARGE": return typeof(BlinkProtocolException);
                case "ERR_TIMEOUT":
                case "ERR_BUSY":
                case "ERR_SHUTTING_DOWN": return typeof(BlinkServerBusyException);
                default: return typeof(BlinkConnectionException);
            }
        }
    }
}
