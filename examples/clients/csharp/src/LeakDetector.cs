// Leak detection (HikariCP's leakDetectionThreshold): leases not returned in time are
// reported once through System.Diagnostics.Trace with the stack that borrowed them.
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;

namespace BlinkStore.Client
{
    /// <summary>Tracks the leases out on loan when a threshold is set, and reports the overdue ones.</summary>
    sealed class LeakDetector
    {
        readonly TimeSpan threshold;
        readonly string endpoint;
        readonly HashSet<BlinkLease> lent = new HashSet<BlinkLease>();

        public LeakDetector(TimeSpan threshold, string endpoint)
        {
            this.threshold = threshold;
            this.endpoint = endpoint;
        }

        /// <summary>Whether leases are tracked (a threshold above zero); when off, nothing is captured or kept.</summary>
        public bool Enabled => threshold > TimeSpan.Zero;

        /// <summary>The borrower's stack, skipping <paramref name="poolFrames"/> frames of the pool's own; null when off.</summary>
        public string CaptureStack(int poolFrames) => Enabled ? new StackTrace(poolFrames + 1, true).ToString() : null;

        public void Lent(BlinkLease lease)
        {
            if (!Enabled)
                return;
            lock (lent)
                lent.Add(lease);
        }

        public void Returned(BlinkLease lease)
        {
            if (!Enabled)
                return;
            lock (lent)
                lent.Remove(lease);
        }

        /// <summary>Reports each lease out longer than the threshold, once.</summary>
        public void ReportOverdue()
        {
            if (!Enabled)
                return;
            long now = Stopwatch.GetTimestamp();
            long thresholdTicks = (long)(threshold.TotalSeconds * Stopwatch.Frequency);
            List<BlinkLease> overdue;
            lock (lent)
                overdue = lent.Where(l => !l.LeakReported && now - l.LentAt > thresholdTicks).ToList();
            foreach (var lease in overdue)
            {
                lease.LeakReported = true;
                double heldMs = (now - lease.LentAt) * 1000.0 / Stopwatch.Frequency;
                Trace.TraceWarning(
                    $"Blink pool: a connection to {endpoint} has been lent for {heldMs:F0} ms, past the leak detection " +
                    $"threshold of {threshold.TotalMilliseconds} ms; it was borrowed at:{Environment.NewLine}{lease.BorrowerStack}");
            }
        }
    }
}
