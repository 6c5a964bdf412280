// When the pool may connect again after a failure: exponential backoff with jitter and a
// cap (CLIENTS.md: about 50 ms·2ⁿ, capped, plus up to 200 ms), and no loop on a wrong token.
using System;
using System.Diagnostics;

namespace BlinkStore.Client
{
    /// <summary>Remembers consecutive connect failures and how long to wait before the next attempt.</summary>
    sealed class ReconnectBackoff
    {
        readonly BlinkPoolOptions settings;
        readonly Random random = new Random();
        int failures;
        long nextAttemptAt;
        BlinkException lastError;

        public ReconnectBackoff(BlinkPoolOptions settings)
        {
            this.settings = settings;
        }

        /// <summary>
        /// Whether the maintenance loop may connect on its own: not while a delay runs, and never after
        /// ERR_AUTH_FAILED (only a caller's borrow tries again, at most once per maximum delay).
        /// </summary>
        public bool AllowsBackgroundConnect
        {
            get
            {
                lock (this)
                    return failures == 0 || (!(lastError is BlinkAuthFailedException) && Stopwatch.GetTimestamp() >= nextAttemptAt);
            }
        }

        /// <summary>Throws, without connecting, while the delay after the last failure runs.</summary>
        public void ThrowIfWaiting(string endpoint)
        {
            lock (this)
            {
                long now = Stopwatch.GetTimestamp();
                if (failures == 0 || now >= nextAttemptAt)
                    return;
                long waitMs = (nextAttemptAt - now) * 1000 / Stopwatch.Frequency;
                string text = $"not reconnecting to {endpoint} for {waitMs} ms after {failures} failed attempt(s): {lastError.Message}";
                if (lastError is BlinkAuthFailedException)
                    throw new BlinkAuthFailedException(text);
                throw new BlinkConnectionException(text, lastError.Status, lastError);
            }
        }

        /// <summary>Records a failed connect (or a server push-back) and starts the next delay.</summary>
        public void Failed(BlinkException error)
        {
            lock (this)
            {
                failures++;
                lastError = error;
                nextAttemptAt = Stopwatch.GetTimestamp() + (long)(Delay(error).TotalSeconds * Stopwatch.Frequency);
            }
        }

        /// <summary>Records a successful connect.</summary>
        public void Succeeded()
        {
            lock (this)
            {
                failures = 0;
                lastError = null;
            }
        }

        /// <summary>base·2^(failures-1), capped at the maximum, plus random jitter; the maximum at once for a wrong token.</summary>
        TimeSpan Delay(BlinkException error)
        {
            if (error is BlinkAuthFailedException)
                return settings.ReconnectBackoffMax;
            double exponential = settings.ReconnectBackoffBase.TotalMilliseconds * Math.Pow(2, Math.Min(failures - 1, 30));
            double capped = Math.Min(exponential, settings.ReconnectBackoffMax.TotalMilliseconds);
            return TimeSpan.FromMilliseconds(capped + random.NextDouble() * settings.ReconnectJitter.TotalMilliseconds);
        }
    }
}
