// One pooled connection and what the pool knows about it: when it must retire, when it went idle.
using System.Diagnostics;

namespace BlinkStore.Client
{
    /// <summary>An open connection in the pool, with what the pool knows about it.</summary>
    sealed class PoolEntry
    {
        public PoolEntry(BlinkConnection connection, long expiresAt)
        {
            Connection = connection;
            ExpiresAt = expiresAt;
        }

        public BlinkConnection Connection { get; }

        /// <summary>When it reaches its (jittered) maximum lifetime, as a <see cref="Stopwatch"/> timestamp.</summary>
        public long ExpiresAt { get; }

        /// <summary>When it was last returned (a <see cref="Stopwatch"/> timestamp).</summary>
        public long IdleSince { get; set; }
    }
}
