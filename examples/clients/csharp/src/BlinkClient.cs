// The entry point most applications use: the commands over a pool of connections.
using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace BlinkStore.Client
{
    /// <summary>
    /// A thread-safe client over a pool of connections (<see cref="BlinkOptions.Pool"/>). Every call
    /// borrows a connection, runs, and returns it; <see cref="Rent"/> keeps one for several calls.
    /// Create one per server and share it for the life of the application; dispose it at the end.
    /// </summary>
    /// <example>
    /// <code>
    /// using (var client = new BlinkClient(new BlinkOptions { Endpoint = BlinkOptions.ParseEndpoint("127.0.0.1:25465") }))
    /// {
    ///     await client.SetAsync("greeting", "hello", TimeSpan.FromMinutes(5));
    ///     string value = await client.GetStringAsync("greeting"); // null when missing
    /// }
    /// </code>
    /// </example>
    public sealed class BlinkClient : BlinkCommands, IDisposable
    {
        readonly ConnectionPool pool;

        /// <summary>Creates the client; its warm connections open in the background.</summary>
        public BlinkClient(BlinkOptions options)
        {
            pool = new ConnectionPool((options ?? throw new ArgumentNullException(nameof(options))).Snapshot());
        }

        /// <summary>The pool's gauges and counters now.</summary>
        public PoolMetrics Metrics => pool.Snapshot();

        /// <summary>Borrows a connection for several calls; dispose the lease to return it.</summary>
        /// <exception cref="BlinkPoolTimeoutException">All connections stayed lent for the borrow timeout.</exception>
        public BlinkLease Rent() => pool.Rent();

        /// <summary>Borrows a connection for several calls; dispose the lease to return it.</summary>
        /// <exception cref="BlinkPoolTimeoutException">All connections stayed lent for the borrow timeout.</exception>
        public Task<BlinkLease> RentAsync(CancellationToken cancel = default(CancellationToken)) => pool.RentAsync(cancel);

        /// <summary>Closes every connection; calls after it throw <see cref="ObjectDisposedException"/>.</summary>
        public void Dispose() => pool.Dispose();

        internal override T Execute<T>(Command<T> command)
        {
            using (var lease = pool.Rent())
                return lease.Execute(command);
        }

        internal override async Task<T> ExecuteAsync<T>(Command<T> command, CancellationToken cancel)
        {
            using (var lease = await pool.RentAsync(cancel).ConfigureAwait(false))
                return await lease.ExecuteAsync(command, cancel).ConfigureAwait(false);
        }

        internal override async Task ExecuteBatchAsync(IReadOnlyList<BatchEntry> entries, CancellationToken cancel)
        {
            using (var lease = await pool.RentAsync(cancel).ConfigureAwait(false))
                await lease.ExecuteBatchAsync(entries, cancel).ConfigureAwait(false);
        }
    }
}
