// The vectors' sessions (protocol/vectors/v1.json) replayed through the public API on a fresh
// server each, by the conformance kit's rules (examples/clients/conformance/README.md).
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
        /// The session steps the API can express (every one but unknown opcodes, malformed or foreign
        /// frames, bare headers and HELLO version 0); a change to the vectors that shrinks it fails the test.
        /// </summary>
        const int StepsReplayed = 35;

        [Test]
        public async Task VectorSessionsThroughTheApi()
        {
            int replayed = 0;
            foreach (var session in Vectors.Section("sessions"))
            {
                var server = (Dictionary<string, object>)session["server"];
                if (server.ContainsKey("cap_bytes"))
                    continue; // a memory cap below the server's minimum: the server's own tests cover it
                replayed += await Replay((string)session["name"], server, (IList)session["steps"]);
            }
            Assert.AreEqual(StepsReplayed, replayed, "session steps replayed");
        }

        static async Task<int> Replay(string name, Dictionary<string, object> server, IList steps)
        {
            var limits = Vectors.Limits((string)server["limits"]);
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

        /// <summary>One call for one frame; a pipelined batch for several.</summary>
        static async Task<List<Task<object>>> Issue(BlinkConnection connection, List<Request> frames)
        {
            if (frames.Count == 1)
                return new List<Task<object>> { Call(connection, frames[0]) };
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
                case Opcode.Hello: return Box(c.HelloAsync());
                case Opcode.Auth: return Box(c.AuthAsync(r.Value));
                case Opcode.Get: return Box(c.GetAsync(r.Key));
                case Opcode.Set: return Box(r.TtlMs == 0 ? c.SetAsync(r.Key, r.Value) : c.SetAsync(r.Key, r.Value, r.TtlMs));
                case Opcode.Del: return Box(c.DelAsync(r.Key));
                case Opcode.Expire: return Box(r.TtlMs == 0 ? c.PersistAsync(r.Key) : c.ExpireAsync(r.Key, r.TtlMs));
                case Opcode.Ttl: return Box(c.TtlAsync(r.Key));
                default: return Box(c.StatsAsync());
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
                bool overLimits = (r.Key != null && r.Key.Length > Convert.ToInt32(limits["max_key_bytes"]))
                                  || (r.Op == Opcode.Set && r.Value.Length > Convert.ToInt32(limits["max_value_bytes"]));
                bool local = error is BlinkRejectedException rejected && rejected.IsLocal;
                Assert.AreEqual(overLimits, local, $"{what}: a frame over the limits is refused locally, and only such a frame");
                return;
            }
            object result = await outcome;
            if (status == "NOT_FOUND")
            {
                Assert.IsTrue(result == null || false.Equals(result), $"{what}: got {result}, want absent");
                return;
            }
            Assert.AreEqual("OK", status, what);
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
                    Assert.AreEqual(true, result, what);
                    break;
                case Opcode.Stats:
                    Assert.IsNotEmpty((Dictionary<string, ulong>)result, what);
                    break;
            }
        }

        static Type ErrorType(string status)
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
                case "ERR_TOO_MANY_CONNECTIONS": return typeof(BlinkTooManyConnectionsException);
                default: return typeof(BlinkConnectionException);
            }
        }
    }

    /// <summary>The test's own small request decoder (SPEC §5 layouts).</summary>
    static class RequestFrames
    {
        /// <summary>The frames of <paramref name="bytes"/>, or null when one is not expressible through the API.</summary>
        public static List<Request> Decode(byte[] bytes)
        {
            var frames = new List<Request>();
            for (int at = 0; at < bytes.Length;)
            {
                if (bytes.Length - at < Wire.HeaderBytes || bytes[at] >= Wire.FirstInvalidByte)
                    return null;
                int len = (int)Wire.ReadUInt32(bytes, at);
                if (len == 0 || bytes.Length - at - Wire.HeaderBytes < len)
                    return null;
                Request? request = DecodePayload(bytes, at + Wire.HeaderBytes, len);
                if (request == null)
                    return null;
                frames.Add(request.Value);
                at += Wire.HeaderBytes + len;
            }
            return frames;
        }

        static Request? DecodePayload(byte[] bytes, int at, int len)
        {
            int end = at + len;
            var op = (Opcode)bytes[at++];
            if (!Enum.IsDefined(typeof(Opcode), op))
                return null;
            var r = new Request { Op = op };
            if (r.HasTtl)
            {
                if (end - at < 8)
                    return null;
                r.TtlMs = Wire.ReadUInt64(bytes, at);
                at += 8;
            }
            if (r.HasKey)
            {
                if (end - at < 2 || end - at - 2 < (bytes[at] << 8 | bytes[at + 1]))
                    return null;
                int keyLen = bytes[at] << 8 | bytes[at + 1];
                r.Key = Slice(bytes, at + 2, keyLen);
                at += 2 + keyLen;
            }
            if (op == Opcode.Hello)
                return end - at == 1 && bytes[at] == Wire.ProtocolVersion ? r : (Request?)null; // the API speaks only v1
            if (op == Opcode.Auth || op == Opcode.Set)
                r.Value = Slice(bytes, at, end - at);
            else if (end != at)
                return null;
            return r;
        }

        static byte[] Slice(byte[] b, int at, int count)
        {
            var slice = new byte[count];
            Buffer.BlockCopy(b, at, slice, 0, count);
            return slice;
        }
    }
}
