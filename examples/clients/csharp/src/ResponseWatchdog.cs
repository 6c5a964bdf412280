// The one timer that closes connections whose calls wait past the read timeout (half-open
// TCP, a stopped server). One process-wide tick instead of a timer per call.
using System.Collections.Generic;
using System.Threading;

namespace BlinkStore.Client
{
    /// <summary>
    /// Ticks every <see cref="TickMs"/> while any connection is registered and asks each to check its
    /// oldest waiting call against its read timeout.
    /// </summary>
    static class ResponseWatchdog
    {
        /// <summary>The check period: a timeout fires at most this late.</summary>
        public const int TickMs = 20;

        static readonly List<BlinkConnection> Watched = new List<BlinkConnection>();
        static readonly Timer Ticker = new Timer(_ => Tick(), null, Timeout.Infinite, Timeout.Infinite);

        public static void Register(BlinkConnection connection)
        {
            lock (Watched)
            {
                Watched.Add(connection);
                if (Watched.Count == 1)
                    Ticker.Change(TickMs, TickMs);
            }
        }

        public static void Unregister(BlinkConnection connection)
        {
            lock (Watched)
            {
                if (Watched.Remove(connection) && Watched.Count == 0)
                    Ticker.Change(Timeout.Infinite, Timeout.Infinite);
            }
        }

        static void Tick()
        {
            BlinkConnection[] snapshot;
            lock (Watched)
                snapshot = Watched.ToArray();
            foreach (var connection in snapshot)
                connection.CheckResponseDeadline();
        }
    }
}
