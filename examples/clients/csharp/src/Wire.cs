// The Blink wire format, versions 1 and 2 (protocol/SPEC.md §3, §5, §6): request encoding,
// incremental reply decoding, and the SCAN body reader. Nothing here knows about sockets or
// pending calls; a body that breaks its layout is a BlinkProtocolException.
using System;
using System.Collections.Generic;

namespace BlinkStore.Client
{
    /// <summary>Request opcodes of protocol versions 1 and 2 (SPEC §5).</summary>
    public enum Opcode : byte
    {
        /// <summary>Is the server alive?</summary>
        Ping = 0x01,
        /// <summary>Negotiate the version and learn the limits.</summary>
        Hello = 0x02,
        /// <summary>Present the shared-secret token.</summary>
        Auth = 0x03,
        /// <summary>Read a value.</summary>
        Get = 0x10,
        /// <summary>Store a value, with or without a TTL.</summary>
        Set = 0x11,
        /// <summary>Remove a key.</summary>
        Del = 0x12,
        /// <summary>Set or clear a key's TTL.</summary>
        Expire = 0x13,
        /// <summary>Read a key's remaining TTL.</summary>
        Ttl = 0x14,
        /// <summary>Store a value only if the key does not exist (v2).</summary>
        Add = 0x15,
        /// <summary>Store a value only if the key exists (v2).</summary>
        Replace = 0x16,
        /// <summary>Add a signed delta to an integer value (v2).</summary>
        Incr = 0x17,
        /// <summary>Append bytes to a value (v2).</summary>
        Append = 0x18,
        /// <summary>Read the server's counters.</summary>
        Stats = 0x20,
        /// <summary>Remove every key (v2).</summary>
        Flush = 0x21,
        /// <summary>One bounded step of a walk over the keys (v2).</summary>
        Scan = 0x22,
    }

    /// <summary>Reply statuses of protocol versions 1 and 2 (SPEC §6.2).</summary>
    public enum BlinkStatus : byte
    {
        /// <summary>Success.</summary>
        Ok = 0x00,
        /// <summary>The key does not exist or has expired.</summary>
        NotFound = 0x01,
        /// <summary>ADD found the key already there; nothing changed (v2).</summary>
        Exists = 0x02,
        /// <summary>Unknown opcode; the frame was skipped.</summary>
        ErrUnknownCommand = 0x80,
        /// <summary>A malformed frame; the server closes.</summary>
        ErrMalformed = 0x81,
        /// <summary>A frame above the limit; the server closes.</summary>
        ErrFrameTooLarge = 0x82,
        /// <summary>A key above max_key_bytes.</summary>
        ErrKeyTooLarge = 0x83,
        /// <summary>A value above max_value_bytes.</summary>
        ErrValueTooLarge = 0x84,
        /// <summary>An item that could never fit in the server's memory cap.</summary>
        ErrItemTooLarge = 0x85,
        /// <summary>The connection must AUTH first.</summary>
        ErrAuthRequired = 0x86,
        /// <summary>Wrong token; the server closes.</summary>
        ErrAuthFailed = 0x87,
        /// <summary>HELLO asked for version 0.</summary>
        ErrUnsupportedVersion = 0x88,
        /// <summary>The server is at its connection limit; it closes.</summary>
        ErrTooManyConnections = 0x89,
        /// <summary>A frame took too long or the connection sat idle; the server closes.</summary>
        ErrTimeout = 0x8A,
        /// <summary>The server's buffers are exhausted or replies went unread; it closes.</summary>
        ErrBusy = 0x8B,
        /// <summary>The server is draining; it closes.</summary>
        ErrShuttingDown = 0x8C,
        /// <summary>INCR of a value that is not an integer, or an overflowing result (v2).</summary>
        ErrNotInteger = 0x8D,
    }

    /// <summary>One request, as the fields of its SPEC §5 layout.</summary>
    public struct Request
    {
        /// <summary>The opcode.</summary>
        public Opcode Op;
        /// <summary>HELLO's version.</summary>
        public byte Version;
        /// <summary>SET's, ADD's, REPLACE's and EXPIRE's ttl_ms (0 on the wire means "no TTL").</summary>
        public ulong TtlMs;
        /// <summary>INCR's delta (two's complement on the wire).</summary>
        public long Delta;
        /// <summary>SCAN's cursor.</summary>
        public ulong Cursor;
        /// <summary>SCAN's count.</summary>
        public ushort Count;
        /// <summary>The key of GET, SET, DEL, EXPIRE, TTL, ADD, REPLACE, INCR and APPEND.</summary>
        public byte[] Key;
        /// <summary>The rest of the payload: SET's, ADD's or REPLACE's value, APPEND's suffix, SCAN's prefix, or AUTH's token.</summary>
        public byte[] Value;

        /// <summary>Whether the layout has ttl_ms.</summary>
        public bool HasTtl => Op == Opcode.Set || Op == Opcode.Expire || Op == Opcode.Add || Op == Opcode.Replace;

        /// <summary>Whether the layout has key_len and key.</summary>
        public bool HasKey =>
            Op == Opcode.Get || Op == Opcode.Set || Op == Opcode.Del || Op == Opcode.Expire || Op == Opcode.Ttl
            || Op == Opcode.Add || Op == Opcode.Replace || Op == Opcode.Incr || Op == Opcode.Append;

        /// <summary>Whether <see cref="Value"/> is a stored value or suffix, which max_value_bytes bounds.</summary>
        public bool ValueIsStored => Op == Opcode.Set || Op == Opcode.Add || Op == Opcode.Replace || Op == Opcode.Append;

        /// <summary>The first protocol version with this opcode: 2 for ADD, REPLACE, INCR, APPEND, FLUSH and SCAN.</summary>
        public byte SinceVersion
        {
            get
            {
                switch (Op)
                {
                    case Opcode.Add:
                    case Opcode.Replace:
                    case Opcode.Incr:
                    case Opcode.Append:
                    case Opcode.Flush:
                    case Opcode.Scan:
                        return 2;
                    default:
                        return 1;
                }
            }
        }

        /// <summary>The payload length (the frame's <c>len</c>), in bytes.</summary>
        public long PayloadBytes =>
            1 + (Op == Opcode.Hello ? 1 : 0) + (HasTtl || Op == Opcode.Incr ? 8 : 0) + (Op == Opcode.Scan ? 8 + 2 : 0)
            + (HasKey ? 2 + Key.Length : 0) + (Value?.Length ?? 0);
    }

    /// <summary>One reply frame: its status byte and its body.</summary>
    public struct Reply
    {
        /// <summary>The status byte, which may be a code no version defines.</summary>
        public byte Status;
        /// <summary>The body after the status (never null).</summary>
        public byte[] Body;

        /// <summary>Whether the status is one of SPEC §6.2's errors (0x80 and above).</summary>
        public bool IsError => Status >= 0x80;
    }

    /// <summary>What <see cref="Wire.TryDecodeReply"/> found at the front of a buffer.</summary>
    public enum DecodeOutcome
    {
        /// <summary>A whole reply frame.</summary>
        Reply,
        /// <summary>The first frame is incomplete: read more bytes, nothing was consumed.</summary>
        NeedMore,
        /// <summary>Not a valid frame (zero length, first byte 0x20 or more, or too long): close.</summary>
        Invalid,
    }

    /// <summary>
    /// Encodes requests and decodes reply frames. Frame layout (SPEC §3):
    /// <c>len: u32 big-endian | payload (len bytes)</c>; a request payload is
    /// <c>opcode | [version] | [ttl_ms, delta or cursor: u64] | [key_len: u16 | key] | [count: u16] | [value, suffix, prefix or token]</c>,
    /// a reply payload is <c>status | body</c>; a SCAN body is
    /// <c>next_cursor: u64 | (key_len: u16 | key)*</c>, filling the body exactly.
    /// </summary>
    public static class Wire
    {
        /// <summary>The highest protocol version this client speaks: what its HELLO carries (SPEC §10).</summary>
        public const byte ProtocolVersion = 2;
        /// <summary>The length of INCR's and APPEND's OK body: one i64 or u64.</summary>
        public const int NumberBodyBytes = 8;
        /// <summary>The size of the length header, in bytes.</summary>
        public const int HeaderBytes = 4;
        /// <summary>The highest legal <c>max_frame_bytes</c> (SPEC §4): the limit on replies before HELLO.</summary>
        public const uint FrameBytesCeiling = 0x1000_0000;
        /// <summary>The frame limit before AUTH succeeds (SPEC §11).</summary>
        public const uint PreAuthFrameBytes = 4096;
        /// <summary>The first header byte that no valid frame has (SPEC §3.1).</summary>
        public const byte FirstInvalidByte = 0x20;
        /// <summary>The length of HELLO's v1 reply body (SPEC §6.3).</summary>
        public const int HelloBodyBytes = 14;
        /// <summary>The length of TTL's body when the key has one.</summary>
        public const int TtlBodyBytes = 8;

        /// <summary>Writes <paramref name="request"/> as one frame at <paramref name="offset"/>; returns the bytes written.</summary>
        /// <remarks>The caller has checked the request against the limits and sized <paramref name="buffer"/>.</remarks>
        public static int Encode(Request request, byte[] buffer, int offset)
        {
            int payload = checked((int)request.PayloadBytes);
            int at = offset;
            WriteUInt32(buffer, at, (uint)payload);
            at += HeaderBytes;
            buffer[at++] = (byte)request.Op;
            if (request.Op == Opcode.Hello)
                buffer[at++] = request.Version;
            if (request.HasTtl || request.Op == Opcode.Incr || request.Op == Opcode.Scan)
            {
                ulong number = request.HasTtl ? request.TtlMs : request.Op == Opcode.Incr ? unchecked((ulong)request.Delta) : request.Cursor;
                WriteUInt64(buffer, at, number);
                at += 8;
            }
            if (request.HasKey)
            {
                buffer[at++] = (byte)(request.Key.Length >> 8);
                buffer[at++] = (byte)request.Key.Length;
                Buffer.BlockCopy(request.Key, 0, buffer, at, request.Key.Length);
                at += request.Key.Length;
            }
            if (request.Op == Opcode.Scan)
            {
                buffer[at++] = (byte)(request.Count >> 8);
                buffer[at++] = (byte)request.Count;
            }
            if (request.Value != null)
            {
                Buffer.BlockCopy(request.Value, 0, buffer, at, request.Value.Length);
                at += request.Value.Length;
            }
            return at - offset;
        }

        /// <summary>
        /// Decodes the reply frame at the front of <c>buffer[offset .. offset + count)</c>, refusing
        /// from the header alone a frame longer than <paramref name="maxFrameBytes"/> (SPEC §13).
        /// </summary>
        /// <param name="buffer">The received bytes.</param>
        /// <param name="offset">Where the first unread byte is.</param>
        /// <param name="count">How many bytes from <paramref name="offset"/> were received.</param>
        /// <param name="maxFrameBytes">The longest reply length accepted.</param>
        /// <param name="reply">The reply, when one was decoded (its body is a copy).</param>
        /// <param name="frameBytes">The bytes the frame occupies, header included, when a reply was decoded.</param>
        public static DecodeOutcome TryDecodeReply(byte[] buffer, int offset, int count, uint maxFrameBytes,
            out Reply reply, out int frameBytes)
        {
            reply = default(Reply);
            frameBytes = 0;
            if (count == 0)
                return DecodeOutcome.NeedMore;
            if (buffer[offset] >= FirstInvalidByte)
                return DecodeOutcome.Invalid;
            if (count < HeaderBytes)
                return DecodeOutcome.NeedMore;
            uint len = ReadUInt32(buffer, offset);
            if (len == 0 || len > maxFrameBytes)
                return DecodeOutcome.Invalid;
            if (count - HeaderBytes < len)
                return DecodeOutcome.NeedMore;
            var body = new byte[len - 1];
            Buffer.BlockCopy(buffer, offset + HeaderBytes + 1, body, 0, body.Length);
            reply = new Reply { Status = buffer[offset + HeaderBytes], Body = body };
            frameBytes = HeaderBytes + (int)len;
            return DecodeOutcome.Reply;
        }

        /// <summary>Reads a big-endian u32.</summary>
        public static uint ReadUInt32(byte[] b, int at) =>
            (uint)b[at] << 24 | (uint)b[at + 1] << 16 | (uint)b[at + 2] << 8 | b[at + 3];

        /// <summary>Reads a big-endian u64.</summary>
        public static ulong ReadUInt64(byte[] b, int at) => (ulong)ReadUInt32(b, at) << 32 | ReadUInt32(b, at + 4);

        /// <summary>Reads a big-endian two's complement i64.</summary>
        public static long ReadInt64(byte[] b, int at) => unchecked((long)ReadUInt64(b, at));

        /// <summary>Reads SCAN's OK body: the next cursor, then each key behind its u16 length, filling the body exactly.</summary>
        /// <exception cref="BlinkProtocolException">The body is shorter than the cursor, or a key overruns it.</exception>
        public static ScanPage DecodeScanBody(byte[] body)
        {
            if (body.Length < 8)
                throw new BlinkProtocolException($"a SCAN body of {body.Length} bytes, shorter than its cursor");
            ulong next = ReadUInt64(body, 0);
            var keys = new List<byte[]>();
            for (int at = 8; at < body.Length;)
            {
                if (body.Length - at < 2)
                    throw new BlinkProtocolException("a SCAN body that ends inside a key length");
                int keyLen = body[at] << 8 | body[at + 1];
                at += 2;
                if (body.Length - at < keyLen)
                    throw new BlinkProtocolException($"a SCAN key of {keyLen} bytes overruns the body by {keyLen - (body.Length - at)}");
                var key = new byte[keyLen];
                Buffer.BlockCopy(body, at, key, 0, keyLen);
                keys.Add(key);
                at += keyLen;
            }
            return new ScanPage(next, keys.AsReadOnly());
        }

        static void WriteUInt32(byte[] b, int at, uint v)
        {
            b[at] = (byte)(v >> 24);
            b[at + 1] = (byte)(v >> 16);
            b[at + 2] = (byte)(v >> 8);
            b[at + 3] = (byte)v;
        }

        static void WriteUInt64(byte[] b, int at, ulong v)
        {
            WriteUInt32(b, at, (uint)(v >> 32));
            WriteUInt32(b, at + 4, (uint)v);
        }
    }
}
