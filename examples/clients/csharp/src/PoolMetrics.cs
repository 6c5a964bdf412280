// A snapshot of the pool's gauges and counters (CLIENTS.md item 9).
using System;

namespace BlinkStore.Client
{
    /// <summary>The pool's state now and its counters since it was created.</summary>
    public sealed class PoolMetrics
    {
        /// <summary>Connections lent out now.</summary>
        public int Active { get; internal set; }
        /// <summary>Open connections waiting to be lent now.</summary>
        public int Idle { get; internal set; }
        /// <summary>Borrowers waiting for a connection now.</summary>
        public int Waiting { get; internal set; }
        /// <summary>Connections opened (handshake done).</summary>
        public long Created { get; internal set; }
        /// <summary>Connections closed: broken, stale, too old, idle too long, or at dispose.</summary>
        public long Destroyed { get; internal set; }
        /// <summary>Connect attempts, handshake included.</summary>
        public long ConnectAttempts { get; internal set; }
        /// <summary>Connect attempts that failed.</summary>
        public long ConnectFailures { get; internal set; }
        /// <summary>Successful borrows.</summary>
        public long Borrows { get; internal set; }
        /// <summary>Borrows that failed with <see cref="BlinkPoolTimeoutException"/>.</summary>
        public long BorrowTimeouts { get; internal set; }
        /// <summary>The time successful borrows took, in total (waiting for a permit, validating, connecting).</summary>
        public TimeSpan BorrowWaitTotal { get; internal set; }
        /// <summary>The longest a successful borrow took.</summary>
        public TimeSpan BorrowWaitMax { get; internal set; }

        /// <summary>Open connections, lent or idle.</summary>
        public long Open => Created - Destroyed;

        /// <inheritdoc/>
        public override string ToString() =>
            $"active={Active} idle={Idle} waiting={Waiting} created={Created} destroyed={Destroyed} " +
            $"connect_attempts={ConnectAttempts} connect_failures={ConnectFailures} borrows={Borrows} " +
            $"borrow_timeouts={BorrowTimeouts} borrow_wait_max={BorrowWaitMax.TotalMilliseconds} ms";
    }
}
