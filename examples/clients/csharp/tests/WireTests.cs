// The wire module against the protocol vectors (protocol/vectors/v1.json and v2.json): every
// decode_reply case through the incremental decoder, every valid decode_request case re-encoded
// through the command factories, the local checks against the rejected ones, and every
// encode_reply case parsed into its result (SCAN pages through the SCAN body reader).
using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using NUnit.Framework;

namespace BlinkStore.Client.Tests
{
    [TestFixture]
    public class WireTests
    {
        /// <summary>The cases of <paramref name="section"/> in both files, each with its file.</summary>
        static IEnumerable<Tuple<VectorFile, Dictionary<string, object>>> Cases(string section) =>
            Vectors.All.SelectMany(file => file.Section(section).Select(c => Tuple.Create(file, c)));

        static string Name(Tuple<VectorFile, Dictionary<string, object>> c) => $"{c.Item1.Name}: {c.Item2["name"]}";

        [Test]
        public void DecodeReplyVectors()
        {
            int cases = 0;
            foreach (var fc in Cases("decode_reply"))
            {
                var c = fc.Item2;
                byte[] bytes = Vectors.Bytes(c["bytes"]);
                uint max = Vectors.UInt(c["max_frame_bytes"]);
                var expect = (Dictionary<string, object>)c["expect"];
                var outcome = Wire.TryDecodeReply(bytes, 0, bytes.Length, max, out Reply reply, out int frameBytes);
                string name = Name(fc);
                switch ((string)expect["outcome"])
                {
                    case "reply":
                        Assert.AreEqual(DecodeOutcome.Reply, outcome, name);
                        Assert.AreEqual(Vectors.UInt(expect["status_code"]), reply.Status, name);
                        CollectionAssert.AreEqual(Vectors.Bytes(expect["body"]), reply.Body, name);
                        Assert.AreEqual(Convert.ToInt32(expect["frame_len"]), frameBytes, name);
                        break;
                    case "need_more":
                        Assert.AreEqual(DecodeOutcome.NeedMore, outcome, name);
                        break;
                    case "invalid":
                        Assert.AreEqual(DecodeOutcome.Invalid, outcome, name);
                        break;
                    default:
                        Assert.Fail($"{name}: unknown outcome {expect["outcome"]}");
                        break;
                }
                cases++;
            }
            Assert.AreEqual(9 + 2, cases, "decode_reply cases of v1.json and v2.json");
        }

        [Test]
        public void DecodeReplyVectorsByteByByte()
        {
            foreach (var fc in Cases("decode_reply"))
            {
                var c = fc.Item2;
                var expect = (Dictionary<string, object>)c["expect"];
                if ((string)expect["outcome"] != "reply")
                    continue;
                byte[] bytes = Vectors.Bytes(c["bytes"]);
                int frameLen = Convert.ToInt32(expect["frame_len"]);
                uint max = Vectors.UInt(c["max_frame_bytes"]);
                for (int prefix = 0; prefix < frameLen; prefix++)
                    Assert.AreEqual(DecodeOutcome.NeedMore, Wire.TryDecodeReply(bytes, 0, prefix, max, out _, out _), $"{Name(fc)}: {prefix} bytes");
                // The decoder works at any offset in the buffer.
                byte[] shifted = new byte[3].Concat(bytes).ToArray();
                Assert.AreEqual(DecodeOutcome.Reply, Wire.TryDecodeReply(shifted, 3, frameLen, max, out Reply reply, out int consumed));
                Assert.AreEqual(frameLen, consumed);
            }
        }

        [Test]
        public void OversizedReplyIsInvalidFromTheHeaderAlone()
        {
            byte[] header = { 0x00, 0x00, 0x10, 0x01 };
            Assert.AreEqual(DecodeOutcome.Invalid, Wire.TryDecodeReply(header, 0, 4, 4096, out _, out _));
            Assert.AreEqual(DecodeOutcome.Invalid, Wire.TryDecodeReply(new byte[] { 0x2d }, 0, 1, 4096, out _, out _), "first byte >= 0x20");
        }

        [Test]
        public void EncodeRequestVectors()
        {
            int encoded = 0;
            foreach (var fc in Cases("decode_request"))
            {
                var c = fc.Item2;
                var expect = (Dictionary<string, object>)c["expect"];
                if ((string)expect["outcome"] != "request")
                    continue;
                byte[] bytes = Vectors.Bytes(c["bytes"]);
                int frameLen = Convert.ToInt32(expect["frame_len"]);
                Request request = ToRequest((Dictionary<string, object>)expect["request"]);
                Assert.AreEqual(frameLen - Wire.HeaderBytes, request.PayloadBytes, Name(fc));
                var buffer = new byte[frameLen];
                Assert.AreEqual(frameLen, Wire.Encode(request, buffer, 0));
                CollectionAssert.AreEqual(bytes.Take(frameLen).ToArray(), buffer, Name(fc));
                encoded++;
            }
            Assert.AreEqual(27 + 14, encoded, "decode_request cases with a valid request, v1.json and v2.json");
        }

        /// <summary>
        /// The client's own checks before sending agree with the server's decoder: a valid request is not
        /// refused under the case's limits and version; one the server rejects for its key or value size, or
        /// as unknown at the connection's version, is refused locally with that error.
        /// </summary>
        [Test]
        public void LocalChecksAgreeWithDecodeRequestVectors()
        {
            int checkedCases = 0;
            foreach (var fc in Cases("decode_request"))
            {
                var c = fc.Item2;
                var expect = (Dictionary<string, object>)c["expect"];
                string outcome = (string)expect["outcome"];
                List<Request> frames = RequestFrames.Decode(Vectors.Bytes(c["bytes"]));
                if (frames == null || frames.Count != 1 || (outcome != "request" && outcome != "rejected"))
                    continue; // not expressible through the API, or fatal: the server's tests
                var set = fc.Item1.Limits(c.ContainsKey("limits") ? (string)c["limits"] : null);
                var limits = new BlinkLimits(Vectors.UInt(set["max_frame_bytes"]), Vectors.UInt(set["max_key_bytes"]), Vectors.UInt(set["max_value_bytes"]));
                int version = c.ContainsKey("version") ? Convert.ToInt32(c["version"]) : fc.Item1.ProtocolVersion;
                Exception refusal = BlinkConnection.VersionRefusal(frames[0], version);
                try
                {
                    if (refusal == null)
                        limits.Check(frames[0], preAuth: false);
                }
                catch (BlinkRejectedException e)
                {
                    refusal = e;
                }
                if (outcome == "request")
                {
                    Assert.IsNull(refusal, $"{Name(fc)}: a valid request refused locally");
                }
                else
                {
                    Assert.IsInstanceOf(SessionTests.ErrorType((string)expect["status"]), refusal, Name(fc));
                    Assert.IsTrue(((BlinkRejectedException)refusal).IsLocal, Name(fc));
                }
                checkedCases++;
            }
            Assert.Greater(checkedCases, 50, "decode_request cases checked");
        }

        /// <summary>The request of a vector, built through the command factories (by hand only where they refuse).</summary>
        static Request ToRequest(Dictionary<string, object> fields)
        {
            byte[] key = fields.ContainsKey("key") ? Vectors.Bytes(fields["key"]) : null;
            byte[] value = fields.ContainsKey("value") ? Vectors.Bytes(fields["value"]) : null;
            ulong ttlMs = fields.ContainsKey("ttl_ms") ? ulong.Parse((string)fields["ttl_ms"]) : 0;
            switch ((string)fields["command"])
            {
                case "PING": return Commands.Ping().Request;
                case "HELLO":
                    int version = Convert.ToInt32(fields["version"]);
                    if (version >= 1 && version <= Wire.ProtocolVersion)
                        return Commands.Hello(version).Request;
                    Assert.Throws<ArgumentOutOfRangeException>(() => Commands.Hello(version), "a version the client does not speak");
                    return new Request { Op = Opcode.Hello, Version = (byte)version };
                case "AUTH": return Commands.Auth(Vectors.Bytes(fields["token"])).Request;
                case "GET": return Commands.Get(key).Request;
                case "SET": return Commands.Set(key, value, ttlMs).Request;
                case "DEL": return Commands.Del(key).Request;
                case "EXPIRE": return Commands.Expire(key, ttlMs).Request;
                case "TTL": return Commands.Ttl(key).Request;
                case "STATS": return Commands.Stats().Request;
                case "ADD": return Commands.Add(key, value, ttlMs).Request;
                case "REPLACE": return Commands.Replace(key, value, ttlMs).Request;
                case "INCR": return Commands.Incr(key, long.Parse((string)fields["delta"])).Request;
                case "APPEND": return Commands.Append(key, Vectors.Bytes(fields["suffix"])).Request;
                case "FLUSH": return Commands.Flush().Request;
                case "SCAN":
                    return Commands.Scan(ulong.Parse((string)fields["cursor"]), Convert.ToInt32(fields["count"]), Vectors.Bytes(fields["prefix"])).Request;
                default: throw new ArgumentException($"command {fields["command"]}");
            }
        }

        [Test]
        public void EncodeReplyVectorsParseToResults()
        {
            int parsed = 0;
            foreach (var fc in Cases("encode_reply"))
            {
                var c = fc.Item2;
                string name = Name(fc);
                byte[] bytes = Vectors.Bytes(c["bytes"]);
                Assert.AreEqual(DecodeOutcome.Reply, Wire.TryDecodeReply(bytes, 0, bytes.Length, Wire.FrameBytesCeiling, out Reply reply, out int frameBytes), name);
                Assert.AreEqual(bytes.Length, frameBytes, name);
                var want = (Dictionary<string, object>)c["reply"];
                switch ((string)want["kind"])
                {
                    case "status":
                        Assert.AreEqual(Enum.Parse(typeof(BlinkStatus), Camel((string)want["status"])), (BlinkStatus)reply.Status, name);
                        CollectionAssert.AreEqual(Vectors.Bytes(want["body"]), reply.Body, name);
                        break;
                    case "error":
                        var error = StatusErrors.FromReply(reply);
                        Assert.IsInstanceOf(SessionTests.ErrorType((string)want["status"]), error, name);
                        Assert.AreEqual(Enum.Parse(typeof(BlinkStatus), Camel((string)want["status"])), error.Status, name);
                        Assert.Throws(SessionTests.ErrorType((string)want["status"]), () => Commands.Ping().Parse(reply), name);
                        break;
                    case "hello":
                        HelloInfo hello = Commands.ParseHello(reply);
                        var limits = fc.Item1.Limits((string)want["limits"]);
                        Assert.AreEqual(want.ContainsKey("version") ? Convert.ToInt32(want["version"]) : 1, hello.Version, name);
                        Assert.AreEqual((bool)want["auth_required"], hello.AuthRequired, name);
                        Assert.AreEqual(Vectors.UInt(limits["max_frame_bytes"]), hello.Limits.MaxFrameBytes, name);
                        Assert.AreEqual(Vectors.UInt(limits["max_key_bytes"]), hello.Limits.MaxKeyBytes, name);
                        Assert.AreEqual(Vectors.UInt(limits["max_value_bytes"]), hello.Limits.MaxValueBytes, name);
                        break;
                    case "integer":
                        Assert.AreEqual(long.Parse((string)want["value"]), Commands.Incr(Key, 1).Parse(reply), name);
                        break;
                    case "length":
                        Assert.AreEqual(long.Parse((string)want["length"]), Commands.Append(Key, Key).Parse(reply), name);
                        break;
                    case "scan":
                        ScanPage page = Commands.Scan(0, 10, new byte[0]).Parse(reply);
                        Assert.AreEqual(ulong.Parse((string)want["next_cursor"]), page.NextCursor, name);
                        var keys = ((IList)want["keys"]).Cast<object>().Select(k => Hex(Vectors.Bytes(k))).ToList();
                        CollectionAssert.AreEqual(keys, page.Keys.Select(Hex).ToList(), name);
                        break;
                    case "ttl":
                        KeyTtl? ttl = Commands.Ttl(Key).Parse(reply);
                        Assert.AreEqual(want["remaining_ms"] == null ? KeyTtl.Persistent : KeyTtl.Expiring(ulong.Parse((string)want["remaining_ms"])), ttl.Value, name);
                        break;
                    case "stats":
                        var stats = Commands.Stats().Parse(reply);
                        var pairs = ((IList)want["stats"]).Cast<IList>().ToList();
                        Assert.AreEqual(pairs.Count, stats.Count, name);
                        foreach (IList pair in pairs)
                            Assert.AreEqual(ulong.Parse((string)pair[1]), stats[(string)pair[0]], name);
                        break;
                    default:
                        Assert.Fail($"{name}: unknown kind {want["kind"]}");
                        break;
                }
                parsed++;
            }
            Assert.AreEqual(24 + 9, parsed, "encode_reply cases of v1.json and v2.json");
        }

        [Test]
        public void OutcomesAreResultsOnlyWhereTheyMayArrive()
        {
            var notFound = new Reply { Status = (byte)BlinkStatus.NotFound, Body = new byte[0] };
            var exists = new Reply { Status = (byte)BlinkStatus.Exists, Body = new byte[0] };
            var ok = new Reply { Status = 0, Body = new byte[0] };
            Assert.IsFalse(Commands.Add(Key, Key, 0).Parse(exists), "ADD of an existing key: false");
            Assert.IsTrue(Commands.Add(Key, Key, 0).Parse(ok));
            Assert.IsFalse(Commands.Replace(Key, Key, 0).Parse(notFound), "REPLACE of a missing key: false");
            Assert.IsTrue(Commands.Replace(Key, Key, 0).Parse(ok));
            Assert.Throws<BlinkProtocolException>(() => Commands.Add(Key, Key, 0).Parse(notFound), "ADD never gets NOT_FOUND");
            Assert.Throws<BlinkProtocolException>(() => Commands.Replace(Key, Key, 0).Parse(exists), "REPLACE never gets EXISTS");
            Assert.Throws<BlinkProtocolException>(() => Commands.Set(Key, Key, 0).Parse(exists));
            Assert.Throws<BlinkProtocolException>(() => Commands.Incr(Key, 1).Parse(notFound), "INCR counts from 0");
        }

        [Test]
        public void BadVersion2BodiesAreProtocolErrors()
        {
            Assert.Throws<BlinkProtocolException>(() => Commands.Incr(Key, 1).Parse(Ok(new byte[7])));
            Assert.Throws<BlinkProtocolException>(() => Commands.Append(Key, Key).Parse(Ok(new byte[9])));
            Assert.Throws<BlinkProtocolException>(() => Commands.Append(Key, Key).Parse(Ok(new byte[] { 0x80, 0, 0, 0, 0, 0, 0, 0 })), "a length above long.MaxValue");
            Assert.Throws<BlinkProtocolException>(() => Commands.Flush().Parse(Ok(new byte[1])));
            Assert.IsTrue(Commands.Scan(0, 1, new byte[0]).Parse(Ok(new byte[8])).IsLast);
            foreach (string body in new[] { "", "00000000000000", "0000000000000000 00", "0000000000000000 0002 61", "0000000000000000 0000 ffff" })
                Assert.Throws<BlinkProtocolException>(() => Commands.Scan(0, 1, new byte[0]).Parse(Ok(Vectors.Bytes(body))), body);
            var notInteger = new Reply { Status = (byte)BlinkStatus.ErrNotInteger, Body = Encoding.UTF8.GetBytes("no") };
            Assert.IsFalse(StatusErrors.Closes(notInteger.Status), "ERR_NOT_INTEGER keeps the connection");
            Assert.IsInstanceOf<BlinkRejectedException>(Assert.Throws<BlinkNotIntegerException>(() => Commands.Incr(Key, 1).Parse(notInteger)));
            foreach (byte version in new byte[] { 0, 3 })
            {
                var hello = Ok(new byte[Wire.HelloBodyBytes]);
                hello.Body[0] = version;
                Assert.Throws<BlinkProtocolException>(() => Commands.ParseHello(hello), $"HELLO version {version}");
            }
        }

        [Test]
        public void Version2ArgumentsAreChecked()
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => Commands.Scan(0, -1, new byte[0]));
            Assert.Throws<ArgumentOutOfRangeException>(() => Commands.Scan(0, 65536, new byte[0]));
            Assert.AreEqual(65535, Commands.Scan(ulong.MaxValue, 65535, new byte[0]).Request.Count);
            Assert.Throws<ArgumentNullException>(() => Commands.Scan(0, 1, null));
            Assert.Throws<ArgumentNullException>(() => Commands.Append(Key, null));
            Assert.Throws<ArgumentOutOfRangeException>(() => Commands.Hello(0));
            Assert.Throws<ArgumentOutOfRangeException>(() => Commands.Hello(3));
        }

        [Test]
        public void Version2CommandsAreRefusedLocallyAtVersion1()
        {
            var small = new BlinkLimits(4096, 4, 8);
            foreach (var request in new[]
            {
                Commands.Add(Key, Key, 0).Request, Commands.Replace(Key, Key, 0).Request, Commands.Incr(Key, 1).Request,
                Commands.Append(Key, Key).Request, Commands.Flush().Request, Commands.Scan(0, 1, new byte[0]).Request,
            })
            {
                var refusal = BlinkConnection.VersionRefusal(request, 1);
                Assert.IsNotNull(refusal, request.Op.ToString());
                Assert.IsTrue(refusal.IsLocal);
                Assert.IsNull(BlinkConnection.VersionRefusal(request, 2));
            }
            Assert.IsNull(BlinkConnection.VersionRefusal(Commands.Get(Key).Request, 1), "version-1 commands stay");
            small.Check(Commands.Scan(0, 1, Encoding.UTF8.GetBytes("longer than a key")).Request, false); // a prefix is no key
            Assert.Throws<BlinkValueTooLargeException>(() => small.Check(Commands.Append(Key, new byte[9]).Request, false));
            Assert.Throws<BlinkKeyTooLargeException>(() => small.Check(Commands.Incr(new byte[5], 1).Request, false));
        }

        static readonly byte[] Key = { 0x6b };

        static Reply Ok(byte[] body) => new Reply { Status = 0, Body = body };

        static string Hex(byte[] bytes) => BitConverter.ToString(bytes);

        /// <summary>"ERR_NOT_INTEGER" → "ErrNotInteger".</summary>
        static string Camel(string status) =>
            string.Concat(status.Split('_').Select(w => w.Substring(0, 1) + w.Substring(1).ToLowerInvariant()));
    }
}
