// The tests' own small request decoder (SPEC §5 layouts, versions 1 and 2), written apart from
// Wire so that the vectors check the client's encoder against an independent reading.
using System;
using System.Collections.Generic;

namespace BlinkStore.Client.Tests
{
    /// <summary>
    /// Decodes request frames into <see cref="Request"/>s. A frame the public API cannot express (an
    /// unknown opcode, a malformed frame, a bare header, a HELLO version the API refuses) makes the
    /// whole buffer null: the kit leaves those to the server's tests.
    /// </summary>
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
            if (r.HasTtl || op == Opcode.Incr || op == Opcode.Scan)
            {
                if (end - at < 8)
                    return null;
                ulong number = Wire.ReadUInt64(bytes, at);
                if (op == Opcode.Incr)
                    r.Delta = unchecked((long)number);
                else if (op == Opcode.Scan)
                    r.Cursor = number;
                else
                    r.TtlMs = number;
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
            if (op == Opcode.Scan)
            {
                if (end - at < 2)
                    return null;
                r.Count = (ushort)(bytes[at] << 8 | bytes[at + 1]);
                at += 2;
            }
            if (op == Opcode.Hello)
            {
                bool spoken = end - at == 1 && bytes[at] >= 1 && bytes[at] <= Wire.ProtocolVersion;
                if (!spoken)
                    return null; // the API asks only for versions it speaks
                r.Version = bytes[at];
                return r;
            }
            if (op == Opcode.Auth || r.ValueIsStored || op == Opcode.Scan)
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
