// A connection borrowed from the pool for as long as the caller needs it; `using` returns it.
using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace BlinkStore.Client
{
    /// <summary>
    /// A pooled connection lent to one caller. Dispose it (<c>using</c>) to return it; a connection that
    /// broke while lent is closed instead of returned. Leases not returned within
    /// <see cref="BlinkPoolOptions.LeakDetectionThreshold"/> are reported with the borrower's stack.
    /// </summary>
    public sealed class BlinkLease : BlinkCommands, IDisposable
    {
        readonly ConnectionPool pool;
        int returned;

        internal BlinkLease(ConnectionPool pool, PoolEntry entry, string borrowerStack)
        {
            this.pool = pool;
            Entry = entry;
            BorrowerStack = borrowerStack;
        }

        /// <summary>Whether the connection still works (false once it closed; it will not be returned to the pool).</summary>
        public bool IsConnected => Entry.Connection.IsConnected;

        internal PoolEntry Entry { get; }

        /// <summary>When it was lent (a <see cref="System.Diagnostics.Stopwatch"/> timestamp).</summary>
        internal long LentAt { get; } = System.Diagnostics.Stopwatch.GetTimestamp();

        /// <summary>Where it was borrowed; null unless leak detection is on.</summary>
        internal string BorrowerStack { get; }

        /// <summary>Whether leak detection reported it already.</summary>
        internal bool LeakReported { get; set; }

        /// <summary>Returns the connection to the pool (once; later calls do nothing).</summary>
        public void Dispose()
        {
            if (Interlocked.Exchange(ref returned, 1) == 0)
                pool.Return(this);
        }

        internal override T Execute<T>(Command<T> command) => Connection().Execute(command);

        internal override Task<T> ExecuteAsync<T>(Command<T> command, CancellationToken cancel) => Connection().ExecuteAsync(command, cancel);

        internal override Task ExecuteBatchAsync(IReadOnlyList<BatchEntry> entries, CancellationToken cancel) =>
            Connection().ExecuteBatchAsync(entries, cancel);

        BlinkConnection Connection()
        {
            if (Volatile.Read(ref returned) != 0)
                throw new ObjectDisposedException(nameof(BlinkLease), "the lease was returned to the pool");
            return Entry.Connection;
        }
    }
}
