// Each command once: the request it sends and how its reply becomes the caller's result
// (SPEC §6.3, §13), versions 1 and 2. Every API surface (connection, pool client, batch) goes
// through these.
using System;
using System.Collections.Generic;
using System.Text;

namespace BlinkStore.Client
{
    /// <summary>The fields of a HELLO reply (SPEC §6.3).</summary>
    public struct HelloInfo
    {
        /// <summary>The negotiated protocol version: 2, or 1 from a server without the version-2 commands.</summary>
        public byte Version;
        /// <summary>Whether this connection must still AUTH (flag bit 0).</summary>
        public bool AuthRequired;
        /// <summary>The connection's limits after authentication.</summary>
        public BlinkLimits Limits;
    }

    /// <summary>What TTL reports for an existing key: no TTL, or the milliseconds left (a full u64).</summary>
    public struct KeyTtl
    {
        /// <summary>A key without a TTL.</summary>
        public static readonly KeyTtl Persistent = default(KeyTtl);

        /// <summary>A key that expires after <paramref name="remainingMs"/> milliseconds.</summary>
        public static KeyTtl Expiring(ulong remainingMs) => new KeyTtl { HasTtl = true, RemainingMs = remainingMs };

        /// <summary>Whether the key expires.</summary>
        public bool HasTtl { get; private set; }
        /// <summary>The time left, in milliseconds (up to <see cref="ulong.MaxValue"/>); 0 when <see cref="HasTtl"/> is false.</summary>
        public ulong RemainingMs { get; private set; }

        /// <inheritdoc/>
        public override string ToString() => HasTtl ? $"{RemainingMs} ms" : "no TTL";
    }

    /// <summary>A request paired with the parser of its reply.</summary>
    struct Command<T>
    {
        /// <summary>What is sent.</summary>
        public Request Request;
        /// <summary>Turns the reply into the result, or throws its error.</summary>
        public Func<Reply, T> Parse;
    }

    /// <summary>Builds the commands of SPEC §5 and parses their replies.</summary>
    static class Commands
    {
        static readonly Func<Reply, bool> OkEmpty = r => ExpectOk(r, 0, 0) != null;
        static readonly Func<Reply, bool> Found = r => r.Status == (byte)BlinkStatus.NotFound ? false : ExpectOk(r, 0, 0) != null;
        static readonly Func<Reply, bool> Stored = r => r.Status == (byte)BlinkStatus.Exists ? false : ExpectOk(r, 0, 0) != null;
        static readonly Func<Reply, long> Integer = r => Wire.ReadInt64(ExpectOk(r, Wire.NumberBodyBytes, Wire.NumberBodyBytes), 0);
        static readonly Func<Reply, long> Length = ParseLength;
        static readonly Func<Reply, ScanPage> Page = r => Wire.DecodeScanBody(ExpectOk(r, 8, int.MaxValue));
        static readonly Func<Reply, byte[]> Value = r => r.Status == (byte)BlinkStatus.NotFound ? null : ExpectOk(r, 0, int.MaxValue);
        static readonly Func<Reply, KeyTtl?> Remaining = ParseTtl;
        static readonly Func<Reply, HelloInfo> HelloReply = ParseHello;
        static readonly Func<Reply, Dictionary<string, ulong>> StatsReply = ParseStats;

        /// <summary>PING: true when the server answered OK.</summary>
        public static Command<bool> Ping() => Make(new Request { Op = Opcode.Ping }, OkEmpty);

        /// <summary>HELLO with <paramref name="version"/> (1 or 2; by default the highest this client speaks).</summary>
        public static Command<HelloInfo> Hello(int version = Wire.ProtocolVersion)
        {
            if (version < 1 || version > Wire.ProtocolVersion)
                throw new ArgumentOutOfRangeException(nameof(version), version, $"this client speaks protocol versions 1 to {Wire.ProtocolVersion}");
            return Make(new Request { Op = Opcode.Hello, Version = (byte)version }, HelloReply);
        }

        /// <summary>AUTH with <paramref name="token"/>.</summary>
        public static Command<bool> Auth(byte[] token) => Make(new Request { Op = Opcode.Auth, Value = NotNull(token, nameof(token)) }, OkEmpty);

        /// <summary>GET: the value, or null when the key is missing.</summary>
        public static Command<byte[]> Get(byte[] key) => Make(new Request { Op = Opcode.Get, Key = NotNull(key, nameof(key)) }, Value);

        /// <summary>SET with <paramref name="ttlMs"/> on the wire (0: no TTL); the public API never passes a magic 0.</summary>
        public static Command<bool> Set(byte[] key, byte[] value, ulong ttlMs) =>
            Make(new Request { Op = Opcode.Set, Key = NotNull(key, nameof(key)), Value = NotNull(value, nameof(value)), TtlMs = ttlMs }, OkEmpty);

        /// <summary>SET without a TTL (null) or with a positive one.</summary>
        public static Command<bool> Set(byte[] key, byte[] value, TimeSpan? ttl) => Set(key, value, ttl.HasValue ? ToTtlMs(ttl.Value) : 0);

        /// <summary>DEL: true when a live key was removed.</summary>
        public static Command<bool> Del(byte[] key) => Make(new Request { Op = Opcode.Del, Key = NotNull(key, nameof(key)) }, Found);

        /// <summary>EXPIRE with <paramref name="ttlMs"/> on the wire (0: clear the TTL): true when the key exists.</summary>
        public static Command<bool> Expire(byte[] key, ulong ttlMs) =>
            Make(new Request { Op = Opcode.Expire, Key = NotNull(key, nameof(key)), TtlMs = ttlMs }, Found);

        /// <summary>TTL: null when the key is missing.</summary>
        public static Command<KeyTtl?> Ttl(byte[] key) => Make(new Request { Op = Opcode.Ttl, Key = NotNull(key, nameof(key)) }, Remaining);

        /// <summary>STATS as name → value.</summary>
        public static Command<Dictionary<string, ulong>> Stats() => Make(new Request { Op = Opcode.Stats }, StatsReply);

        /// <summary>ADD with <paramref name="ttlMs"/> on the wire (0: no TTL): true when stored, false when the key exists.</summary>
        public static Command<bool> Add(byte[] key, byte[] value, ulong ttlMs) =>
            Make(new Request { Op = Opcode.Add, Key = NotNull(key, nameof(key)), Value = NotNull(value, nameof(value)), TtlMs = ttlMs }, Stored);

        /// <summary>ADD without a TTL (null) or with a positive one.</summary>
        public static Command<bool> Add(byte[] key, byte[] value, TimeSpan? ttl) => Add(key, value, ttl.HasValue ? ToTtlMs(ttl.Value) : 0);

        /// <summary>REPLACE with <paramref name="ttlMs"/> on the wire (0: no TTL): true when stored, false when the key is missing.</summary>
        public static Command<bool> Replace(byte[] key, byte[] value, ulong ttlMs) =>
            Make(new Request { Op = Opcode.Replace, Key = NotNull(key, nameof(key)), Value = NotNull(value, nameof(value)), TtlMs = ttlMs }, Found);

        /// <summary>REPLACE without a TTL (null) or with a positive one.</summary>
        public static Command<bool> Replace(byte[] key, byte[] value, TimeSpan? ttl) => Replace(key, value, ttl.HasValue ? ToTtlMs(ttl.Value) : 0);

        /// <summary>INCR by <paramref name="delta"/>: the new value.</summary>
        public static Command<long> Incr(byte[] key, long delta) =>
            Make(new Request { Op = Opcode.Incr, Key = NotNull(key, nameof(key)), Delta = delta }, Integer);

        /// <summary>APPEND <paramref name="suffix"/>: the value's new length.</summary>
        public static Command<long> Append(byte[] key, byte[] suffix) =>
            Make(new Request { Op = Opcode.Append, Key = NotNull(key, nameof(key)), Value = NotNull(suffix, nameof(suffix)) }, Length);

        /// <summary>FLUSH: true when the server answered OK.</summary>
        public static Command<bool> Flush() => Make(new Request { Op = Opcode.Flush }, OkEmpty);

        /// <summary>SCAN from <paramref name="cursor"/>, aiming at <paramref name="count"/> keys (0 to 65 535) under <paramref name="prefix"/>.</summary>
        public static Command<ScanPage> Scan(ulong cursor, int count, byte[] prefix) =>
            Make(new Request { Op = Opcode.Scan, Cursor = cursor, Count = CheckScanCount(count), Value = NotNull(prefix, nameof(prefix)) }, Page);

        /// <summary>A SCAN count: a u16.</summary>
        public static ushort CheckScanCount(int count)
        {
            if (count < 0 || count > ushort.MaxValue)
                throw new ArgumentOutOfRangeException(nameof(count), count, "a SCAN count is 0 to 65535");
            return (ushort)count;
        }

        /// <summary>A TTL in whole milliseconds, rounded up; it must be positive (no TTL is a separate call).</summary>
        public static ulong ToTtlMs(TimeSpan ttl)
        {
            if (ttl <= TimeSpan.Zero)
                throw new ArgumentOutOfRangeException(nameof(ttl), ttl, "a TTL must be positive; pass no TTL for a persistent key");
            return (ulong)((ttl.Ticks + TimeSpan.TicksPerMillisecond - 1) / TimeSpan.TicksPerMillisecond);
        }

        /// <summary>Checks an explicit millisecond TTL: 0 would mean "no TTL" on the wire, so it is refused.</summary>
        public static ulong CheckTtlMs(ulong ttlMs)
        {
            if (ttlMs == 0)
                throw new ArgumentOutOfRangeException(nameof(ttlMs), "a TTL must be at least 1 ms; pass no TTL for a persistent key");
            return ttlMs;
        }

        static Command<T> Make<T>(Request request, Func<Reply, T> parse) => new Command<T> { Request = request, Parse = parse };

        static byte[] NotNull(byte[] bytes, string name) => bytes ?? throw new ArgumentNullException(name);

        /// <summary>The body of an OK reply whose length is within bounds; any other reply throws.</summary>
        static byte[] ExpectOk(Reply reply, int minBody, int maxBody)
        {
            if (reply.IsError)
                throw StatusErrors.FromReply(reply);
            if (reply.Status != (byte)BlinkStatus.Ok)
                throw new BlinkProtocolException($"status 0x{reply.Status:x2} is not a reply this command can get");
            if (reply.Body.Length < minBody || reply.Body.Length > maxBody)
                throw new BlinkProtocolException($"an OK body of {reply.Body.Length} bytes where {minBody}..{maxBody} are valid");
            return reply.Body;
        }

        static KeyTtl? ParseTtl(Reply reply)
        {
            if (reply.Status == (byte)BlinkStatus.NotFound)
                return null;
            byte[] body = ExpectOk(reply, 0, Wire.TtlBodyBytes);
            if (body.Length == 0)
                return KeyTtl.Persistent;
            if (body.Length != Wire.TtlBodyBytes)
                throw new BlinkProtocolException($"a TTL body of {body.Length} bytes");
            return KeyTtl.Expiring(Wire.ReadUInt64(body, 0));
        }

        /// <summary>
        /// A HELLO reply's fields; a version this client does not speak (0, or above 2) is a protocol
        /// error, after which the connection must close (SPEC §10).
        /// </summary>
        public static HelloInfo ParseHello(Reply reply)
        {
            byte[] b = ExpectOk(reply, Wire.HelloBodyBytes, int.MaxValue);
            if (b[0] < 1 || b[0] > Wire.ProtocolVersion)
                throw new BlinkProtocolException($"the server negotiated protocol version {b[0]}; this client speaks 1 to {Wire.ProtocolVersion}");
            return new HelloInfo
            {
                Version = b[0],
                AuthRequired = (b[1] & 0x01) != 0,
                Limits = new BlinkLimits(Wire.ReadUInt32(b, 2), Wire.ReadUInt32(b, 6), Wire.ReadUInt32(b, 10)),
            };
        }

        static long ParseLength(Reply reply)
        {
            ulong length = Wire.ReadUInt64(ExpectOk(reply, Wire.NumberBodyBytes, Wire.NumberBodyBytes), 0);
            if (length > long.MaxValue)
                throw new BlinkProtocolException($"an APPEND length of {length} bytes");
            return (long)length;
        }

        static Dictionary<string, ulong> ParseStats(Reply reply)
        {
            string text = Encoding.ASCII.GetString(ExpectOk(reply, 0, int.MaxValue));
            var stats = new Dictionary<string, ulong>(StringComparer.Ordinal);
            foreach (string line in text.Split(new[] { '\n' }, StringSplitOptions.RemoveEmptyEntries))
            {
                int space = line.IndexOf(' ');
                if (space <= 0 || !ulong.TryParse(line.Substring(space + 1), out ulong value))
                    throw new BlinkProtocolException($"a STATS line that is not \"name value\": {line}");
                stats[line.Substring(0, space)] = value;
            }
            return stats;
        }
    }
}
