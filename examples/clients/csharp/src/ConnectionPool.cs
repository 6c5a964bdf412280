// The pool: a bounded number of connections, lent one caller at a time, validated before
// reuse, refilled to a warm minimum, replaced when broken, stale or old (HikariCP, go-redis).
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;

namespace BlinkStore.Client
{
    /// <summary>
    /// Owns every pooled connection. A first-come, first-served gate of <see cref="BlinkPoolOptions.MaxSize"/> permits
    /// bounds the callers holding or opening a connection (the warm-up takes one too); a caller opens a
    /// connection only when none is idle, and every open reserves a place under the maximum first, so
    /// open connections never exceed it. A maintenance timer evicts, refills and reports leaks.
    /// </summary>
    sealed class ConnectionPool : IDisposable
    {
        /// <summary>An idle connection returned more recently than this is lent without the socket check.</summary>
        static readonly TimeSpan LivenessCheckAfterIdle = TimeSpan.FromMilliseconds(100);

        readonly BlinkOptions options;
        readonly BlinkPoolOptions settings;
        readonly PermitGate permits;
        readonly ReconnectBackoff backoff;
        readonly Timer maintenance;
        readonly Random random = new Random();
        readonly object gate = new object();
        readonly Stack<PoolEntry> idle = new Stack<PoolEntry>();
        readonly LeakDetector leaks;
        bool disposed;
        int open; // connections open or being opened: never above MaxSize
        int active;
        int maintaining;
        long created, destroyed, connectAttempts, connectFailures, borrows, borrowTimeouts, borrowWaitTicks, borrowWaitMaxTicks;

        public ConnectionPool(BlinkOptions options)
        {
            this.options = options;
            settings = options.Pool;
            permits = new PermitGate(settings.MaxSize);
            leaks = new LeakDetector(settings.LeakDetectionThreshold, options.Endpoint.ToString());
            backoff = new ReconnectBackoff(settings);
            maintenance = new Timer(_ => Maintain(), null, TimeSpan.Zero, settings.MaintenanceInterval);
        }

        public BlinkLease Rent()
        {
            long start = Stopwatch.GetTimestamp();
            if (!permits.TryTake())
                ThrowUnlessAcquired(permits.Take(settings.BorrowTimeout));
            try
            {
                for (PoolEntry entry = TakeIdle(out bool ping); entry != null; entry = TakeIdle(out ping))
                {
                    if (!ping || Validate(() => entry.Connection.Ping()))
                        return Lend(entry, start);
                    Destroy(entry);
                }
                return Lend(OpenReservedAsync(CancellationToken.None).GetAwaiter().GetResult(), start);
            }
            catch
            {
                permits.Release();
                throw;
            }
        }

        public async Task<BlinkLease> RentAsync(CancellationToken cancel)
        {
            long start = Stopwatch.GetTimestamp();
            if (!permits.TryTake())
                ThrowUnlessAcquired(await permits.TakeAsync(settings.BorrowTimeout, cancel).ConfigureAwait(false));
            try
            {
                for (PoolEntry entry = TakeIdle(out bool ping); entry != null; entry = TakeIdle(out ping))
                {
                    if (!ping || await ValidateAsync(entry.Connection.PingAsync(CancellationToken.None)).ConfigureAwait(false))
                        return Lend(entry, start);
                    Destroy(entry);
                }
                return Lend(await OpenReservedAsync(cancel).ConfigureAwait(false), start);
            }
            catch
            {
                permits.Release();
                throw;
            }
        }

        /// <summary>Takes back a lease: its connection goes idle if healthy, and is closed otherwise.</summary>
        public void Return(BlinkLease lease)
        {
            PoolEntry entry = lease.Entry;
            leaks.Returned(lease);
            bool keep;
            lock (gate)
            {
                active--;
                keep = !disposed && entry.Connection.IsConnected;
                if (keep)
                {
                    entry.IdleSince = Stopwatch.GetTimestamp();
                    idle.Push(entry);
                }
            }
            if (!keep)
                Destroy(entry);
            permits.Release();
        }

        public PoolMetrics Snapshot()
        {
            lock (gate)
            {
                return new PoolMetrics
                {
                    Active = active,
                    Idle = idle.Count,
                    Waiting = permits.Waiting,
                    Created = Interlocked.Read(ref created),
                    Destroyed = Interlocked.Read(ref destroyed),
                    ConnectAttempts = Interlocked.Read(ref connectAttempts),
                    ConnectFailures = Interlocked.Read(ref connectFailures),
                    Borrows = Interlocked.Read(ref borrows),
                    BorrowTimeouts = Interlocked.Read(ref borrowTimeouts),
                    BorrowWaitTotal = Ticks(Interlocked.Read(ref borrowWaitTicks)),
                    BorrowWaitMax = Ticks(Interlocked.Read(ref borrowWaitMaxTicks)),
                };
            }
        }

        /// <summary>Closes the idle connections now and the lent ones as they come back; borrowing then fails.</summary>
        public void Dispose()
        {
            PoolEntry[] closing;
            lock (gate)
            {
                if (disposed)
                    return;
                disposed = true;
                closing = idle.ToArray();
                idle.Clear();
            }
            maintenance.Dispose();
            foreach (var entry in closing)
                Destroy(entry);
        }

        void ThrowUnlessAcquired(bool acquired)
        {
            if (acquired)
                return;
            Interlocked.Increment(ref borrowTimeouts);
            throw new BlinkPoolTimeoutException(
                $"no connection to {options.Endpoint} within the borrow timeout of {settings.BorrowTimeout.TotalMilliseconds} ms: " +
                $"all {settings.MaxSize} are lent ({Snapshot()})");
        }

        /// <summary>
        /// Pops an idle connection that passes the cheap checks (open, not readable while idle, within its
        /// lifetime and idle time), closing those that fail; <paramref name="ping"/> says it idled long
        /// enough to be PINGed first. With none idle it returns null, having reserved a place to open one
        /// (the caller holds a permit, so there is always room).
        /// </summary>
        PoolEntry TakeIdle(out bool ping)
        {
            while (true)
            {
                PoolEntry entry;
                lock (gate)
                {
                    ThrowIfDisposed();
                    if (idle.Count == 0)
                    {
                        Debug.Assert(open < settings.MaxSize, "a permit holder always finds room");
                        open++;
                        ping = false;
                        return null;
                    }
                    entry = idle.Pop();
                }
                long idleTicks = Stopwatch.GetTimestamp() - entry.IdleSince;
                if (IsStale(entry, idleTicks, enforceIdleTime: true))
                {
                    Destroy(entry);
                    continue;
                }
                ping = idleTicks >= settings.ValidateAfterIdle.Ticks * Stopwatch.Frequency / TimeSpan.TicksPerSecond;
                return entry;
            }
        }

        /// <summary>
        /// Too old, idle too long, closed, or (idle past <see cref="LivenessCheckAfterIdle"/>) readable
        /// while no call waits. The reader thread sees a close at once; the socket check covers the
        /// moment before it runs, and is skipped for a connection returned just now (HikariCP's bypass).
        /// </summary>
        bool IsStale(PoolEntry entry, long idleTicks, bool enforceIdleTime) =>
            Stopwatch.GetTimestamp() >= entry.ExpiresAt
            || (enforceIdleTime && idleTicks >= ToTicks(settings.MaxIdleTime))
            || !entry.Connection.IsConnected
            || (idleTicks >= ToTicks(LivenessCheckAfterIdle) && entry.Connection.LooksDeadWhileIdle());

        static bool Validate(Action ping)
        {
            try
            {
                ping();
                return true;
            }
            catch (BlinkException)
            {
                return false;
            }
        }

        /// <summary>The PING of an idle connection; bounded by the read timeout, not the caller's token, so the connection is never lost mid-check.</summary>
        static async Task<bool> ValidateAsync(Task ping)
        {
            try
            {
                await ping.ConfigureAwait(false);
                return true;
            }
            catch (BlinkException)
            {
                return false;
            }
        }

        /// <summary>
        /// Opens a connection in a place already reserved, unless the backoff after a failure still runs
        /// (then it fails fast); a failure gives the place back.
        /// </summary>
        async Task<PoolEntry> OpenReservedAsync(CancellationToken cancel)
        {
            BlinkConnection connection;
            try
            {
                backoff.ThrowIfWaiting(options.Endpoint.ToString());
            }
            catch
            {
                ReleaseReservation();
                throw;
            }
            Interlocked.Increment(ref connectAttempts);
            try
            {
                connection = await BlinkConnection.ConnectAsync(options, cancel).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                ReleaseReservation();
                if (e is BlinkException failure)
                {
                    Interlocked.Increment(ref connectFailures);
                    backoff.Failed(failure);
                }
                throw;
            }
            backoff.Succeeded();
            Interlocked.Increment(ref created);
            return new PoolEntry(connection, connection.CreatedAt + LifetimeTicks());
        }

        BlinkLease Lend(PoolEntry entry, long start)
        {
            var lease = new BlinkLease(this, entry, leaks.CaptureStack(poolFrames: 2));
            lock (gate)
            {
                if (disposed)
                {
                    Destroy(entry);
                    throw new ObjectDisposedException(nameof(BlinkClient));
                }
                active++;
            }
            leaks.Lent(lease);
            long waited = Stopwatch.GetTimestamp() - start;
            Interlocked.Increment(ref borrows);
            Interlocked.Add(ref borrowWaitTicks, waited);
            for (long max = Interlocked.Read(ref borrowWaitMaxTicks); waited > max; max = Interlocked.Read(ref borrowWaitMaxTicks))
                Interlocked.CompareExchange(ref borrowWaitMaxTicks, waited, max);
            return lease;
        }

        /// <summary>Closes a connection for good; a server push-back (ERR_BUSY, ...) delays the next connect.</summary>
        void Destroy(PoolEntry entry)
        {
            BlinkException cause = entry.Connection.CloseCause;
            entry.Connection.Dispose();
            ReleaseReservation();
            Interlocked.Increment(ref destroyed);
            if (cause is BlinkServerBusyException && cause.Status != BlinkStatus.ErrTimeout)
                backoff.Failed(cause);
        }

        /// <summary>The timer's work: evict stale idle connections, refill the warm minimum, report leaks.</summary>
        void Maintain()
        {
            if (Interlocked.Exchange(ref maintaining, 1) != 0)
                return;
            try
            {
                Evict();
                leaks.ReportOverdue();
                Fill();
            }
            finally
            {
                Volatile.Write(ref maintaining, 0);
            }
        }

        /// <summary>Closes idle connections that are dead or too old, and those idle too long above the warm minimum.</summary>
        void Evict()
        {
            List<PoolEntry> stale;
            lock (gate)
            {
                if (disposed)
                    return;
                long now = Stopwatch.GetTimestamp();
                var entries = idle.Reverse().ToList(); // oldest first: the ones above MinIdle go first
                int surplus = entries.Count - settings.MinIdle;
                stale = new List<PoolEntry>();
                foreach (var entry in entries)
                {
                    if (IsStale(entry, now - entry.IdleSince, enforceIdleTime: surplus > 0))
                    {
                        stale.Add(entry);
                        surplus--;
                    }
                }
                if (stale.Count == 0)
                    return;
                idle.Clear();
                foreach (var entry in entries.Except(stale))
                    idle.Push(entry);
            }
            foreach (var entry in stale)
                Destroy(entry);
        }

        /// <summary>Opens connections until <see cref="BlinkPoolOptions.MinIdle"/> are idle, stopping at the first failure.</summary>
        void Fill()
        {
            while (permits.TryTake())
            {
                try
                {
                    if (!ReserveForFill())
                        return;
                    PoolEntry entry = OpenReservedAsync(CancellationToken.None).GetAwaiter().GetResult();
                    entry.IdleSince = Stopwatch.GetTimestamp();
                    bool keep;
                    lock (gate)
                    {
                        keep = !disposed;
                        if (keep)
                            idle.Push(entry);
                    }
                    if (!keep)
                        Destroy(entry);
                }
                catch (BlinkException e)
                {
                    Trace.TraceInformation($"Blink pool: warming a connection to {options.Endpoint} failed: {e.Message}");
                    return;
                }
                finally
                {
                    permits.Release();
                }
            }
        }

        void ReleaseReservation()
        {
            lock (gate)
                open--;
        }

        /// <summary>Reserves a place to open a warm connection, when fewer than MinIdle are idle and there is room.</summary>
        bool ReserveForFill()
        {
            lock (gate)
            {
                if (disposed || idle.Count >= settings.MinIdle || open >= settings.MaxSize || !backoff.AllowsBackgroundConnect)
                    return false;
                open++;
                return true;
            }
        }

        /// <summary>MaxLifetime less up to 2.5 % at random, so connections opened together do not all close together.</summary>
        long LifetimeTicks()
        {
            double jitter;
            lock (random)
                jitter = random.NextDouble() * 0.025;
            return (long)(ToTicks(settings.MaxLifetime) * (1 - jitter));
        }

        void ThrowIfDisposed()
        {
            if (disposed)
                throw new ObjectDisposedException(nameof(BlinkClient));
        }

        static long ToTicks(TimeSpan span) => (long)(span.TotalSeconds * Stopwatch.Frequency);

        static TimeSpan Ticks(long stopwatchTicks) => TimeSpan.FromSeconds((double)stopwatchTicks / Stopwatch.Frequency);
    }
}
