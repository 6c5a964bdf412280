// The wire module against the protocol vectors (protocol/vectors/v1.json): every decode_reply
// case through the incremental decoder, and every valid decode_request case re-encoded.
using System;
using System.Collections.Generic;
using System.Linq;
using NUnit.Framework;

namespace BlinkStore.Client.Tests
{
    [TestFixture]
    public class WireTests
    {
        [Test]
        public void DecodeReplyVectors()
        {
            int cases = 0;
            foreach (var c in Vectors.Section("decode_reply"))
            {
                byte[] bytes = Vectors.Bytes(c["bytes"]);
                uint max = Vectors.UInt(c["max_frame_bytes"]);
                var expect = (Dictionary<string, object>)c["expect"];
                var outcome = Wire.TryDecodeReply(bytes, 0, bytes.Length, max, out Reply reply, out int frameBytes);
                string name = (string)c["name"];
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
            Assert.AreEqual(9, cases, "decode_reply cases");
        }

        [Test]
        public void DecodeReplyVectorsByteByByte()
        {
            foreach (var c in Vectors.Section("decode_reply"))
            {
                var expect = (Dictionary<string, object>)c["expect"];
                if ((string)expect["outcome"] != "reply")
                    continue;
                byte[] bytes = Vectors.Bytes(c["bytes"]);
                int frameLen = Convert.ToInt32(expect["frame_len"]);
                uint max = Vectors.UInt(c["max_frame_bytes"]);
                for (int prefix = 0; prefix < frameLen; prefix++)
                    Assert.AreEqual(DecodeOutcome.NeedMore, Wire.TryDecodeReply(bytes, 0, prefix, max, out _, out _), $"{c["name"]}: {prefix} bytes");
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
            foreach (var c in Vectors.Section("decode_request"))
            {
                var expect = (Dictionary<string, object>)c["expect"];
                if ((string)expect["outcome"] != "request")
                    continue;
                byte[] bytes = Vectors.Bytes(c["bytes"]);
                int frameLen = Convert.ToInt32(expect["frame_len"]);
                Request request = ToRequest((Dictionary<string, object>)expect["request"]);
                Assert.AreEqual(frameLen - Wire.HeaderBytes, request.PayloadBytes, (string)c["name"]);
                var buffer = new byte[frameLen];
                Assert.AreEqual(frameLen, Wire.Encode(request, buffer, 0));
                CollectionAssert.AreEqual(bytes.Take(frameLen).ToArray(), buffer, (string)c["name"]);
                encoded++;
            }
            Assert.Greater(encoded, 20, "decode_request cases with a valid request");
        }

        static Request ToRequest(Dictionary<string, object> fields)
        {
            var op = (Opcode)Enum.Parse(typeof(Opcode), (string)fields["command"], ignoreCase: true);
            var request = new Request { Op = op };
            if (fields.ContainsKey("version"))
                request.Version = Convert.ToByte(fields["version"]);
            if (fields.ContainsKey("token"))
                request.Value = Vectors.Bytes(fields["token"]);
            if (fields.ContainsKey("key"))
                request.Key = Vectors.Bytes(fields["key"]);
            if (fields.ContainsKey("value"))
                request.Value = Vectors.Bytes(fields["value"]);
            if (fields.ContainsKey("ttl_ms"))
                request.TtlMs = ulong.Parse((string)fields["ttl_ms"]);
            return request;
        }
    }
}
