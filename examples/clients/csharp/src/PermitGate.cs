// The pool's bound: a first-come, first-served semaphore with a timeout, for blocking and
// Task-based borrowers alike. Unlike SemaphoreSlim it never spins and hands a released permit
// straight to the oldest waiter, so 64 threads over 8 connections wait in turn (a bounded p99).
using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace BlinkStore.Client
{
    /// <summary>Permits taken in arrival order; a waiter gives up at its timeout or cancellation.</summary>
    sealed class PermitGate
    {
        readonly object gate = new object();
        readonly LinkedList<Waiter> waiters = new LinkedList<Waiter>();
        int available;

        public PermitGate(int permits)
        {
            available = permits;
        }

        /// <summary>Callers waiting for a permit now.</summary>
        public int Waiting
        {
            get { lock (gate) return waiters.Count; }
        }

        /// <summary>Takes a permit if one is free and nobody waits for it.</summary>
        public bool TryTake()
        {
            lock (gate)
            {
                if (available == 0 || waiters.Count > 0)
                    return false;
                available--;
                return true;
            }
        }

        /// <summary>Blocks until a permit is handed over (true) or <paramref name="timeout"/> passes (false).</summary>
        public bool Take(TimeSpan timeout)
        {
            var waiter = new Waiter(null);
            if (Enqueue(waiter))
                return true;
            var clock = System.Diagnostics.Stopwatch.StartNew();
            lock (waiter)
            {
                for (long left = (long)timeout.TotalMilliseconds; !waiter.Granted && left > 0; left = (long)timeout.TotalMilliseconds - clock.ElapsedMilliseconds)
                    Monitor.Wait(waiter, (int)Math.Min(left, int.MaxValue));
            }
            return waiter.Granted || !Withdraw(waiter);
        }

        /// <summary>Completes with true when a permit is handed over, false at <paramref name="timeout"/>; cancellation cancels it.</summary>
        public Task<bool> TakeAsync(TimeSpan timeout, CancellationToken cancel)
        {
            var waiter = new Waiter(new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously));
            if (Enqueue(waiter))
                return Task.FromResult(true);
            var stop = CancellationTokenSource.CreateLinkedTokenSource(cancel);
            waiter.StopTimer = stop;
            Task.Delay(timeout, stop.Token).ContinueWith(_ =>
            {
                stop.Dispose();
                if (Withdraw(waiter))
                {
                    if (cancel.IsCancellationRequested)
                        waiter.Source.TrySetCanceled(cancel);
                    else
                        waiter.Source.TrySetResult(false);
                }
            }, CancellationToken.None, TaskContinuationOptions.RunContinuationsAsynchronously, TaskScheduler.Default);
            return waiter.Source.Task;
        }

        /// <summary>Returns a permit: to the oldest waiter if any, else to the free count.</summary>
        public void Release()
        {
            Waiter next;
            lock (gate)
            {
                if (waiters.Count == 0)
                {
                    available++;
                    return;
                }
                next = waiters.First.Value;
                waiters.RemoveFirst();
                next.Granted = true;
            }
            next.Wake();
        }

        /// <summary>Takes a free permit (true) or queues <paramref name="waiter"/> (false).</summary>
        bool Enqueue(Waiter waiter)
        {
            lock (gate)
            {
                if (available > 0 && waiters.Count == 0)
                {
                    available--;
                    return true;
                }
                waiter.Node = waiters.AddLast(waiter);
                return false;
            }
        }

        /// <summary>Leaves the queue; false when a permit was handed over first (the waiter keeps it).</summary>
        bool Withdraw(Waiter waiter)
        {
            lock (gate)
            {
                if (waiter.Granted)
                    return false;
                waiters.Remove(waiter.Node);
                return true;
            }
        }

        sealed class Waiter
        {
            public Waiter(TaskCompletionSource<bool> source)
            {
                Source = source;
            }

            /// <summary>Set under the gate's lock when a permit is handed over.</summary>
            public volatile bool Granted;
            public LinkedListNode<Waiter> Node;
            public CancellationTokenSource StopTimer;
            public TaskCompletionSource<bool> Source { get; }

            public void Wake()
            {
                if (Source == null)
                {
                    lock (this)
                        Monitor.Pulse(this);
                    return;
                }
                Source.TrySetResult(true);
                try
                {
                    StopTimer?.Cancel(); // ends the timeout's timer early
                }
                catch (ObjectDisposedException)
                {
                    // The timer fired and was disposed first: nothing left to stop.
                }
            }
        }
    }
}
