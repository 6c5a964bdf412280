// The public commands, written once for every surface that runs them: a connection, a lease
// from the pool, and the pooled client. Each is one line over Commands.
using System;
using System.Collections.Generic;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace BlinkStore.Client
{
    /// <summary>
    /// The Blink commands, blocking and Task-based. Keys and values are bytes (strings are UTF-8).
    /// "Not found" is a result — null, or false — never an exception; errors are the exceptions of
    /// SPEC §13 (<see cref="BlinkRejectedException"/>, <see cref="BlinkConnectionException"/>, ...).
    /// A TTL is a positive <see cref="TimeSpan"/> or a millisecond count of at least 1; "no TTL" is
    /// its own overload or null, never a magic 0.
    /// </summary>
    public abstract class BlinkCommands
    {
        internal BlinkCommands() { }

        /// <summary>PING.</summary>
        public void Ping() => Execute(Commands.Ping());
        /// <summary>PING.</summary>
        public Task PingAsync(CancellationToken cancel = default(CancellationToken)) => ExecuteAsync(Commands.Ping(), cancel);

        /// <summary>GET: the value, or null when the key is missing.</summary>
        public byte[] Get(byte[] key) => Execute(Commands.Get(key));
        /// <summary>GET: the value, or null when the key is missing.</summary>
        public Task<byte[]> GetAsync(byte[] key, CancellationToken cancel = default(CancellationToken)) => ExecuteAsync(Commands.Get(key), cancel);
        /// <summary>GET of a UTF-8 key and value: null when the key is missing.</summary>
        public string GetString(string key) => Utf8(Get(Utf8(key)));
        /// <summary>GET of a UTF-8 key and value: null when the key is missing.</summary>
        public async Task<string> GetStringAsync(string key, CancellationToken cancel = default(CancellationToken)) =>
            Utf8(await GetAsync(Utf8(key), cancel).ConfigureAwait(false));

        /// <summary>SET without a TTL (null), or expiring after <paramref name="ttl"/>.</summary>
        public void Set(byte[] key, byte[] value, TimeSpan? ttl = null) => Execute(Commands.Set(key, value, ttl));
        /// <summary>SET without a TTL (null), or expiring after <paramref name="ttl"/>.</summary>
        public Task SetAsync(byte[] key, byte[] value, TimeSpan? ttl = null, CancellationToken cancel = default(CancellationToken)) =>
            ExecuteAsync(Commands.Set(key, value, ttl), cancel);
        /// <summary>SET expiring after <paramref name="ttlMs"/> milliseconds (1 to <see cref="ulong.MaxValue"/>).</summary>
        public void Set(byte[] key, byte[] value, ulong ttlMs) => Execute(Commands.Set(key, value, Commands.CheckTtlMs(ttlMs)));
        /// <summary>SET expiring after <paramref name="ttlMs"/> milliseconds (1 to <see cref="ulong.MaxValue"/>).</summary>
        public Task SetAsync(byte[] key, byte[] value, ulong ttlMs, CancellationToken cancel = default(CancellationToken)) =>
            ExecuteAsync(Commands.Set(key, value, Commands.CheckTtlMs(ttlMs)), cancel);
        /// <summary>SET of a UTF-8 key and value.</summary>
        public void Set(string key, string value, TimeSpan? ttl = null) => Set(Utf8(key), Utf8(value), ttl);
        /// <summary>SET of a UTF-8 key and value.</summary>
        public Task SetAsync(string key, string value, TimeSpan? ttl = null, CancellationToken cancel = default(CancellationToken)) =>
            SetAsync(Utf8(key), Utf8(value), ttl, cancel);

        /// <summary>DEL: true when a live key was removed, false when there was none.</summary>
        public bool Del(byte[] key) => Execute(Commands.Del(key));
        /// <summary>DEL: true when a live key was removed, false when there was none.</summary>
        public Task<bool> DelAsync(byte[] key, CancellationToken cancel = default(CancellationToken)) => ExecuteAsync(Commands.Del(key), cancel);
        /// <summary>DEL of a UTF-8 key.</summary>
        public bool Del(string key) => Del(Utf8(key));
        /// <summary>DEL of a UTF-8 key.</summary>
        public Task<bool> DelAsync(string key, CancellationToken cancel = default(CancellationToken)) => DelAsync(Utf8(key), cancel);

        /// <summary>EXPIRE: a new TTL from now; false when the key is missing.</summary>
        public bool Expire(byte[] key, TimeSpan ttl) => Execute(Commands.Expire(key, Commands.ToTtlMs(ttl)));
        /// <summary>EXPIRE: a new TTL from now; false when the key is missing.</summary>
        public Task<bool> ExpireAsync(byte[] key, TimeSpan ttl, CancellationToken cancel = default(CancellationToken)) =>
            ExecuteAsync(Commands.Expire(key, Commands.ToTtlMs(ttl)), cancel);
        /// <summary>EXPIRE in milliseconds (1 to <see cref="ulong.MaxValue"/>); false when the key is missing.</summary>
        public bool Expire(byte[] key, ulong ttlMs) => Execute(Commands.Expire(key, Commands.CheckTtlMs(ttlMs)));
        /// <summary>EXPIRE in milliseconds (1 to <see cref="ulong.MaxValue"/>); false when the key is missing.</summary>
        public Task<bool> ExpireAsync(byte[] key, ulong ttlMs, CancellationToken cancel = default(CancellationToken)) =>
            ExecuteAsync(Commands.Expire(key, Commands.CheckTtlMs(ttlMs)), cancel);
        /// <summary>EXPIRE of a UTF-8 key.</summary>
        public Task<bool> ExpireAsync(string key, TimeSpan ttl, CancellationToken cancel = default(CancellationToken)) =>
            ExpireAsync(Utf8(key), ttl, cancel);

        /// <summary>Clears the key's TTL (EXPIRE with no TTL); false when the key is missing.</summary>
        public bool Persist(byte[] key) => Execute(Commands.Expire(key, 0));
        /// <summary>Clears the key's TTL (EXPIRE with no TTL); false when the key is missing.</summary>
        public Task<bool> PersistAsync(byte[] key, CancellationToken cancel = default(CancellationToken)) => ExecuteAsync(Commands.Expire(key, 0), cancel);

        /// <summary>TTL: null when the key is missing, else <see cref="KeyTtl.Persistent"/> or the milliseconds left.</summary>
        public KeyTtl? Ttl(byte[] key) => Execute(Commands.Ttl(key));
        /// <summary>TTL: null when the key is missing, else <see cref="KeyTtl.Persistent"/> or the milliseconds left.</summary>
        public Task<KeyTtl?> TtlAsync(byte[] key, CancellationToken cancel = default(CancellationToken)) => ExecuteAsync(Commands.Ttl(key), cancel);
        /// <summary>TTL of a UTF-8 key.</summary>
        public Task<KeyTtl?> TtlAsync(string key, CancellationToken cancel = default(CancellationToken)) => TtlAsync(Utf8(key), cancel);

        /// <summary>STATS: every counter the server reports, by name (SPEC §12).</summary>
        public Dictionary<string, ulong> Stats() => Execute(Commands.Stats());
        /// <summary>STATS: every counter the server reports, by name (SPEC §12).</summary>
        public Task<Dictionary<string, ulong>> StatsAsync(CancellationToken cancel = default(CancellationToken)) => ExecuteAsync(Commands.Stats(), cancel);

        /// <summary>A batch of commands to send as one pipeline (<see cref="BlinkBatch.ExecuteAsync"/>).</summary>
        public BlinkBatch CreateBatch() => new BlinkBatch(this);

        internal abstract T Execute<T>(Command<T> command);

        internal abstract Task<T> ExecuteAsync<T>(Command<T> command, CancellationToken cancel);

        internal abstract Task ExecuteBatchAsync(IReadOnlyList<BatchEntry> entries, CancellationToken cancel);

        static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s ?? throw new ArgumentNullException(nameof(s)));

        static string Utf8(byte[] b) => b == null ? null : Encoding.UTF8.GetString(b);
    }
}
