// One call's slot in a connection's reply FIFO (SPEC §8: order is the only correlation).
using System;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;

namespace BlinkStore.Client
{
    /// <summary>
    /// The slot of one request whose reply has not been read. It stays in the FIFO until its reply
    /// arrives, whether or not anyone still waits: a cancelled call's late reply lands here and is
    /// dropped, never handed to the next call.
    /// </summary>
    sealed class PendingReply
    {
        Reply reply;
        Exception error;
        bool done;
        Action<PendingReply> onDone;

        /// <summary>When the request was queued (a <see cref="Stopwatch"/> timestamp).</summary>
        public readonly long QueuedAt = Stopwatch.GetTimestamp();

        /// <summary>The request's opcode: the reader applies HELLO and AUTH replies before handing them over.</summary>
        public readonly Opcode Op;

        public PendingReply(Opcode op)
        {
            Op = op;
        }

        /// <summary>The reply, or the failure's exception; valid once done.</summary>
        public Reply Result => error == null ? reply : throw error;

        /// <summary>Delivers the reply.</summary>
        public void Complete(Reply value) => Finish(value, null);

        /// <summary>Fails the call (the connection closed, timed out or broke the protocol).</summary>
        public void Fail(Exception cause) => Finish(default(Reply), cause);

        /// <summary>Blocks until the reply or the failure.</summary>
        public Reply Wait()
        {
            lock (this)
            {
                while (!done)
                    Monitor.Wait(this);
            }
            return Result;
        }

        /// <summary>Runs <paramref name="callback"/> once done, on the completing thread (or at once when done).</summary>
        public void OnDone(Action<PendingReply> callback)
        {
            lock (this)
            {
                if (!done)
                {
                    onDone = callback;
                    return;
                }
            }
            callback(this);
        }

        /// <summary>
        /// A task of the parsed result. Cancelling <paramref name="cancel"/> completes the task at once;
        /// the slot stays queued and its reply is dropped when it arrives.
        /// </summary>
        public Task<T> Track<T>(Func<Reply, T> parse, CancellationToken cancel)
        {
            var source = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
            CancellationTokenRegistration registration = default(CancellationTokenRegistration);
            if (cancel.CanBeCanceled)
                registration = cancel.Register(() => source.TrySetCanceled(cancel));
            OnDone(p =>
            {
                registration.Dispose();
                Deliver(p, parse, source);
            });
            return source.Task;
        }

        /// <summary>Parses a finished slot's reply into <paramref name="source"/>.</summary>
        public static void Deliver<T>(PendingReply done, Func<Reply, T> parse, TaskCompletionSource<T> source)
        {
            try
            {
                source.TrySetResult(parse(done.Result));
            }
            catch (Exception e)
            {
                source.TrySetException(e);
            }
        }

        void Finish(Reply value, Exception cause)
        {
            Action<PendingReply> callback;
            lock (this)
            {
                if (done)
                    return;
                reply = value;
                error = cause;
                done = true;
                callback = onDone;
                onDone = null;
                Monitor.PulseAll(this);
            }
            callback?.Invoke(this);
        }
    }
}
