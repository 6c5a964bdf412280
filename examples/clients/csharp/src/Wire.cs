// The Blink v1 wire format (protocol/SPEC.md §3, §5, §6): request encoding and incremental
// reply decoding. Nothing here knows about sockets, pending calls or errors.
using System;

namespace BlinkStore.Client
{
    /// <summary>Request opcodes of protocol version 1 (SPEC §5).</summary>
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
        /// <summary>Read the server's counters.</summary>
        Stats = 0x20,
    }

    /// <summary>Reply statuses of protocol version 1 (SPEC §6.2).</summary>
    public enum BlinkStatus : byte
    {
        /// <summary>Success.</summary>
        Ok = 0x00,
        /// <summary>The key does not exist or has expired.</summary>
        NotFound = 0x01,
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
    }

    /// <summary>One request, as the fields of its SPEC §5 layout.</summary>
    public struct Request
    {
        /// <summary>The opcode.</summary>
        public Opcode Op;
        /// <summary>HELLO's version.</summary>
        public byte Version;
        /// <summary>SET's and EXPIRE's ttl_ms (0 on the wire means "no TTL").</summary>
        public ulong TtlMs;
        /// <summary>The key of GET, SET, DEL, EXPIRE and TTL.</summary>
        public byte[] Key;
        /// <summary>SET's value, or AUTH's token.</summary>
        public byte[] Value;

        /// <summary>Whether the layout has ttl_ms.</summary>
        public bool HasTtl => Op == Opcode.Set || Op == Opcode.Expire;

        /// <summary>Whether the layout has key_len and key.</summary>
        public bool HasKey => Op == Opcode.Get || Op == Opcode.Set || Op == Opcode.Del || Op == Opcode.Expire || Op == Opcode.Ttl;

        /// <summary>The payload length (the frame's <c>len</c>), in bytes.</summary>
        public long PayloadBytes =>
            1 + (Op == Opcode.Hello ? 1 : 0) + (HasTtl ? 8 : 0)
            + (HasKey ? 2 + Key.Length : 0) + (Value?.Length ?? 0);
    }

    /// <summary>One reply frame: its status byte and its body.</summary>
    public struct Reply
    {
        /// <summary>The status byte, which may be a code v1 does not define.</summary>
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
    /// <c>opcode | [version] | [ttl_ms: u64] | [key_len: u16 | key] | [value or token]</c>,
    /// a reply payload is <c>status | body</c>.
    /// </summary>
    public static class Wire
    {
        /// <summary>The protocol version this client speaks.</summary>
        public const byte ProtocolVersion = 1;
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
            if (request.HasTtl)
            {
                WriteUInt64(buffer, at, request.TtlMs);
                at += 8;
            }
            if (request.HasKey)
            {
                buffer[at++] = (byte)(request.Key.Length >> 8);
                buffer[at++] = (byte)request.Key.Length;
                Buffer.BlockCopy(request.Key, 0, buffer, at, request.Key.Length);
                at += request.Key.Length;
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
