// A pipelined batch: commands queued without waiting, written together, answered in order.
using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace BlinkStore.Client
{
    /// <summary>
    /// Commands queued on a batch are sent together by <see cref="ExecuteAsync"/> as one pipeline, read
    /// while they are written (SPEC §8). Each queued call returns a task that completes with its own
    /// outcome once the batch runs; a key or value over the limits fails its own task without being sent.
    /// Like StackExchange.Redis's <c>IBatch</c>; a batch runs once.
    /// </summary>
    public sealed class BlinkBatch
    {
        readonly BlinkCommands owner;
        readonly List<BatchEntry> entries = new List<BatchEntry>();
        bool executed;

        internal BlinkBatch(BlinkCommands owner)
        {
            this.owner = owner;
        }

        /// <summary>The number of queued commands.</summary>
        public int Count => entries.Count;

        /// <summary>Queues PING.</summary>
        public Task PingAsync() => Add(Commands.Ping());

        /// <summary>Queues GET: the value, or null when the key is missing.</summary>
        public Task<byte[]> GetAsync(byte[] key) => Add(Commands.Get(key));

        /// <summary>Queues SET without a TTL, or with <paramref name="ttl"/>.</summary>
        public Task SetAsync(byte[] key, byte[] value, TimeSpan? ttl = null) => Add(Commands.Set(key, value, ttl));

        /// <summary>Queues SET with a TTL in milliseconds (at least 1).</summary>
        public Task SetAsync(byte[] key, byte[] value, ulong ttlMs) => Add(Commands.Set(key, value, Commands.CheckTtlMs(ttlMs)));

        /// <summary>Queues SET of UTF-8 strings.</summary>
        public Task SetAsync(string key, string value, TimeSpan? ttl = null) => SetAsync(Utf8(key), Utf8(value), ttl);

        /// <summary>Queues DEL: true when a live key was removed.</summary>
        public Task<bool> DelAsync(byte[] key) => Add(Commands.Del(key));

        /// <summary>Queues EXPIRE with a TTL in milliseconds (at least 1): true when the key exists.</summary>
        public Task<bool> ExpireAsync(byte[] key, ulong ttlMs) => Add(Commands.Expire(key, Commands.CheckTtlMs(ttlMs)));

        /// <summary>Queues EXPIRE that clears the key's TTL: true when the key exists.</summary>
        public Task<bool> PersistAsync(byte[] key) => Add(Commands.Expire(key, 0));

        /// <summary>Queues TTL: null when the key is missing.</summary>
        public Task<KeyTtl?> TtlAsync(byte[] key) => Add(Commands.Ttl(key));

        /// <summary>Queues STATS.</summary>
        public Task<Dictionary<string, ulong>> StatsAsync() => Add(Commands.Stats());

        /// <summary>Queues ADD without a TTL, or with <paramref name="ttl"/>: true when stored, false when the key exists.</summary>
        public Task<bool> AddAsync(byte[] key, byte[] value, TimeSpan? ttl = null) => Add(Commands.Add(key, value, ttl));

        /// <summary>Queues ADD with a TTL in milliseconds (at least 1).</summary>
        public Task<bool> AddAsync(byte[] key, byte[] value, ulong ttlMs) => Add(Commands.Add(key, value, Commands.CheckTtlMs(ttlMs)));

        /// <summary>Queues REPLACE without a TTL, or with <paramref name="ttl"/>: true when stored, false when the key is missing.</summary>
        public Task<bool> ReplaceAsync(byte[] key, byte[] value, TimeSpan? ttl = null) => Add(Commands.Replace(key, value, ttl));

        /// <summary>Queues REPLACE with a TTL in milliseconds (at least 1).</summary>
        public Task<bool> ReplaceAsync(byte[] key, byte[] value, ulong ttlMs) => Add(Commands.Replace(key, value, Commands.CheckTtlMs(ttlMs)));

        /// <summary>Queues INCR: the new value.</summary>
        public Task<long> IncrAsync(byte[] key, long delta = 1) => Add(Commands.Incr(key, delta));

        /// <summary>Queues APPEND: the value's new length.</summary>
        public Task<long> AppendAsync(byte[] key, byte[] suffix) => Add(Commands.Append(key, suffix));

        /// <summary>Queues FLUSH.</summary>
        public Task FlushAsync() => Add(Commands.Flush());

        /// <summary>Queues SCAN: one page of a walk.</summary>
        public Task<ScanPage> ScanAsync(ulong cursor, int count, byte[] prefix) => Add(Commands.Scan(cursor, count, prefix));

        /// <summary>
        /// Sends every queued command and completes when all have completed; it faults with the first
        /// failure (each command's own outcome stays in its task).
        /// </summary>
        public Task ExecuteAsync(CancellationToken cancel = default(CancellationToken))
        {
            if (executed)
                throw new InvalidOperationException("a batch runs once");
            executed = true;
            return entries.Count == 0 ? Task.CompletedTask : owner.ExecuteBatchAsync(entries, cancel);
        }

        /// <summary>Sends every queued command and blocks until all have completed.</summary>
        public void Execute() => ExecuteAsync().GetAwaiter().GetResult();

        internal Task<T> Add<T>(Command<T> command)
        {
            if (executed)
                throw new InvalidOperationException("the batch has run; create a new one");
            var entry = new BatchEntry<T>(command);
            entries.Add(entry);
            return entry.Task;
        }

        static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s ?? throw new ArgumentNullException(nameof(s)));
    }

    /// <summary>One queued command of a batch and the task its caller holds.</summary>
    abstract class BatchEntry
    {
        protected BatchEntry(Request request)
        {
            Request = request;
        }

        public Request Request { get; }

        public abstract Task Completion { get; }

        /// <summary>Connects the entry to its slot in the reply FIFO.</summary>
        public abstract void Bind(PendingReply slot);

        public abstract void Fail(Exception error);

        public abstract void Cancel(CancellationToken cancel);

        /// <summary>Completes when every entry has; cancelling <paramref name="cancel"/> cancels the ones still waiting.</summary>
        public static async Task WhenAll(IReadOnlyList<BatchEntry> entries, CancellationToken cancel)
        {
            using (cancel.CanBeCanceled ? cancel.Register(() => CancelAll(entries, cancel)) : default(CancellationTokenRegistration))
                await Task.WhenAll(entries.Select(e => e.Completion)).ConfigureAwait(false);
        }

        static void CancelAll(IReadOnlyList<BatchEntry> entries, CancellationToken cancel)
        {
            foreach (var entry in entries)
                entry.Cancel(cancel);
        }
    }

    sealed class BatchEntry<T> : BatchEntry
    {
        readonly Func<Reply, T> parse;
        readonly TaskCompletionSource<T> source = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);

        public BatchEntry(Command<T> command) : base(command.Request)
        {
            parse = command.Parse;
        }

        public Task<T> Task => source.Task;

        public override Task Completion => source.Task;

        public override void Bind(PendingReply slot) => slot.OnDone(done => PendingReply.Deliver(done, parse, source));

        public override void Fail(Exception error) => source.TrySetException(error);

        public override void Cancel(CancellationToken cancel) => source.TrySetCanceled(cancel);
    }
}
