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
    /// "Not found" is a result — null, or false — never an exception, and so is an ADD that found the
    /// key; errors are the exceptions of SPEC §13 (<see cref="BlinkRejectedException"/>,
    /// <see cref="BlinkConnectionException"/>, ...). A TTL is a positive <see cref="TimeSpan"/> or a
    /// millisecond count of at least 1; "no TTL" is its own overload or null, never a magic 0. The
    /// version-2 commands (ADD, REPLACE, INCR, APPEND, FLUSH, SCAN) fail with
    /// <see cref="BlinkUnknownCommandException"/>, before sending, on a connection to a version-1 server.
    /// </summary>
    public abstract class BlinkCommands
    {
        /// <summary>The SCAN count the key walks ask for by default: a reply of a few KiB, a round trip per 100 keys.</summary>
        public const int DefaultScanCount = 100;

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

        /// <summary>ADD: stores only if the key does not exist; false (EXISTS) if it does. No TTL (null), or expiring after <paramref name="ttl"/>.</summary>
        public bool Add(byte[] key, byte[] value, TimeSpan? ttl = null) => Execute(Commands.Add(key, value, ttl));
        /// <summary>ADD: stores only if the key does not exist; false (EXISTS) if it does.</summary>
        public Task<bool> AddAsync(byte[] key, byte[] value, TimeSpan? ttl = null, CancellationToken cancel = default(CancellationToken)) =>
            ExecuteAsync(Commands.Add(key, value, ttl), cancel);
        /// <summary>ADD expiring after <paramref name="ttlMs"/> milliseconds (1 to <see cref="ulong.MaxValue"/>).</summary>
        public bool Add(byte[] key, byte[] value, ulong ttlMs) => Execute(Commands.Add(key, value, Commands.CheckTtlMs(ttlMs)));
        /// <summary>ADD expiring after <paramref name="ttlMs"/> milliseconds (1 to <see cref="ulong.MaxValue"/>).</summary>
        public Task<bool> AddAsync(byte[] key, byte[] value, ulong ttlMs, CancellationToken cancel = default(CancellationToken)) =>
            ExecuteAsync(Commands.Add(key, value, Commands.CheckTtlMs(ttlMs)), cancel);
        /// <summary>ADD of a UTF-8 key and value.</summary>
        public bool Add(string key, string value, TimeSpan? ttl = null) => Add(Utf8(key), Utf8(value), ttl);
        /// <summary>ADD of a UTF-8 key and value.</summary>
        public Task<bool> AddAsync(string key, string value, TimeSpan? ttl = null, CancellationToken cancel = default(CancellationToken)) =>
            AddAsync(Utf8(key), Utf8(value), ttl, cancel);

        /// <summary>REPLACE: stores only if the key exists (value and TTL, as SET); false (NOT_FOUND) if it does not.</summary>
        public bool Replace(byte[] key, byte[] value, TimeSpan? ttl = null) => Execute(Commands.Replace(key, value, ttl));
        /// <summary>REPLACE: stores only if the key exists (value and TTL, as SET); false (NOT_FOUND) if it does not.</summary>
        public Task<bool> ReplaceAsync(byte[] key, byte[] value, TimeSpan? ttl = null, CancellationToken cancel = default(CancellationToken)) =>
            ExecuteAsync(Commands.Replace(key, value, ttl), cancel);
        /// <summary>REPLACE expiring after <paramref name="ttlMs"/> milliseconds (1 to <see cref="ulong.MaxValue"/>).</summary>
        public bool Replace(byte[] key, byte[] value, ulong ttlMs) => Execute(Commands.Replace(key, value, Commands.CheckTtlMs(ttlMs)));
        /// <summary>REPLACE expiring after <paramref name="ttlMs"/> milliseconds (1 to <see cref="ulong.MaxValue"/>).</summary>
        public Task<bool> ReplaceAsync(byte[] key, byte[] value, ulong ttlMs, CancellationToken cancel = default(CancellationToken)) =>
            ExecuteAsync(Commands.Replace(key, value, Commands.CheckTtlMs(ttlMs)), cancel);
        /// <summary>REPLACE of a UTF-8 key and value.</summary>
        public bool Replace(string key, string value, TimeSpan? ttl = null) => Replace(Utf8(key), Utf8(value), ttl);
        /// <summary>REPLACE of a UTF-8 key and value.</summary>
        public Task<bool> ReplaceAsync(string key, string value, TimeSpan? ttl = null, CancellationToken cancel = default(CancellationToken)) =>
            ReplaceAsync(Utf8(key), Utf8(value), ttl, cancel);

        /// <summary>
        /// INCR: adds <paramref name="delta"/> (negative to decrement) to the decimal integer under the key and
        /// returns the new value; a missing key counts as 0 and gets no TTL, an existing one keeps its TTL.
        /// <see cref="BlinkNotIntegerException"/> when the value is no integer or the result would overflow.
        /// </summary>
        public long Incr(byte[] key, long delta = 1) => Execute(Commands.Incr(key, delta));
        /// <summary>INCR: the new value (see <see cref="Incr(byte[], long)"/>).</summary>
        public Task<long> IncrAsync(byte[] key, long delta = 1, CancellationToken cancel = default(CancellationToken)) =>
            ExecuteAsync(Commands.Incr(key, delta), cancel);
        /// <summary>INCR of a UTF-8 key.</summary>
        public long Incr(string key, long delta = 1) => Incr(Utf8(key), delta);
        /// <summary>INCR of a UTF-8 key.</summary>
        public Task<long> IncrAsync(string key, long delta = 1, CancellationToken cancel = default(CancellationToken)) =>
            IncrAsync(Utf8(key), delta, cancel);

        /// <summary>
        /// APPEND: appends <paramref name="suffix"/> to the value (a missing key starts empty, without a TTL) and
        /// returns its new length; <see cref="BlinkValueTooLargeException"/> from the server when that would exceed max_value_bytes.
        /// </summary>
        public long Append(byte[] key, byte[] suffix) => Execute(Commands.Append(key, suffix));
        /// <summary>APPEND: the value's new length.</summary>
        public Task<long> AppendAsync(byte[] key, byte[] suffix, CancellationToken cancel = default(CancellationToken)) =>
            ExecuteAsync(Commands.Append(key, suffix), cancel);
        /// <summary>APPEND of a UTF-8 key and suffix.</summary>
        public long Append(string key, string suffix) => Append(Utf8(key), Utf8(suffix));
        /// <summary>APPEND of a UTF-8 key and suffix.</summary>
        public Task<long> AppendAsync(string key, string suffix, CancellationToken cancel = default(CancellationToken)) =>
            AppendAsync(Utf8(key), Utf8(suffix), cancel);

        /// <summary>FLUSH: removes every key.</summary>
        public void Flush() => Execute(Commands.Flush());
        /// <summary>FLUSH: removes every key.</summary>
        public Task FlushAsync(CancellationToken cancel = default(CancellationToken)) => ExecuteAsync(Commands.Flush(), cancel);

        /// <summary>
        /// SCAN: one page of a walk over the keys starting with <paramref name="prefix"/> (empty: every key).
        /// Start with cursor 0 and pass each page's <see cref="ScanPage.NextCursor"/> until it is 0;
        /// <paramref name="count"/> (0 to 65 535) is a hint. <see cref="ScanKeys(byte[], int)"/> walks for you.
        /// </summary>
        public ScanPage Scan(ulong cursor, int count, byte[] prefix) => Execute(Commands.Scan(cursor, count, prefix));
        /// <summary>SCAN: one page of a walk (see <see cref="Scan(ulong, int, byte[])"/>).</summary>
        public Task<ScanPage> ScanAsync(ulong cursor, int count, byte[] prefix, CancellationToken cancel = default(CancellationToken)) =>
            ExecuteAsync(Commands.Scan(cursor, count, prefix), cancel);
        /// <summary>SCAN with a UTF-8 prefix.</summary>
        public ScanPage Scan(ulong cursor, int count, string prefix) => Scan(cursor, count, Utf8(prefix));
        /// <summary>SCAN with a UTF-8 prefix.</summary>
        public Task<ScanPage> ScanAsync(ulong cursor, int count, string prefix, CancellationToken cancel = default(CancellationToken)) =>
            ScanAsync(cursor, count, Utf8(prefix), cancel);

        /// <summary>
        /// Every key starting with <paramref name="prefix"/>, fetched lazily a SCAN page of about
        /// <paramref name="count"/> keys at a time as the caller iterates; each enumeration is a new walk. A key
        /// that exists for the whole walk comes exactly once; one added or removed meanwhile may or may not
        /// (SPEC §5.2). On a <see cref="BlinkClient"/> each page borrows a connection (cursors are valid across
        /// connections).
        /// </summary>
        public IEnumerable<byte[]> ScanKeys(byte[] prefix, int count = DefaultScanCount)
        {
            NotNull(prefix, nameof(prefix));
            Commands.CheckScanCount(count);
            return KeyWalk.Keys(this, prefix, count);
        }
        /// <summary>Every key under a UTF-8 prefix, as UTF-8 (see <see cref="ScanKeys(byte[], int)"/>).</summary>
        public IEnumerable<string> ScanKeys(string prefix, int count = DefaultScanCount) => KeyWalk.Utf8(ScanKeys(Utf8(prefix), count));

        /// <summary>
        /// The asynchronous <see cref="ScanKeys(byte[], int)"/>: each <c>MoveNextAsync</c> awaits the next page when
        /// the current one is used up (C# 8 callers write <c>await foreach</c>; the cancellation token comes
        /// through <c>GetAsyncEnumerator</c> or <c>WithCancellation</c>).
        /// </summary>
        public IAsyncEnumerable<byte[]> ScanKeysAsync(byte[] prefix, int count = DefaultScanCount)
        {
            NotNull(prefix, nameof(prefix));
            return new AsyncKeyWalk<byte[]>(this, prefix, Commands.CheckScanCount(count), key => key);
        }
        /// <summary>The asynchronous <see cref="ScanKeys(string, int)"/>.</summary>
        public IAsyncEnumerable<string> ScanKeysAsync(string prefix, int count = DefaultScanCount) =>
            new AsyncKeyWalk<string>(this, Utf8(prefix), Commands.CheckScanCount(count), Utf8);

        /// <summary>A batch of commands to send as one pipeline (<see cref="BlinkBatch.ExecuteAsync"/>).</summary>
        public BlinkBatch CreateBatch() => new BlinkBatch(this);

        internal abstract T Execute<T>(Command<T> command);

        internal abstract Task<T> ExecuteAsync<T>(Command<T> command, CancellationToken cancel);

        internal abstract Task ExecuteBatchAsync(IReadOnlyList<BatchEntry> entries, CancellationToken cancel);

        static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s ?? throw new ArgumentNullException(nameof(s)));

        static void NotNull(byte[] bytes, string name)
        {
            if (bytes == null)
                throw new ArgumentNullException(name);
        }

        static string Utf8(byte[] b) => b == null ? null : Encoding.UTF8.GetString(b);
    }
}
