// One connection to a server: the socket, the FIFO of calls waiting for replies, the reader
// thread that answers them in order, and the handshake (SPEC §8, §10, §11, §13, §14).
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;

namespace BlinkStore.Client
{
    /// <summary>
    /// One connection, opened with HELLO 2 (and AUTH, pipelined, when a token is set). Every HELLO reply
    /// sets the version it speaks (<see cref="Version"/>: 2, or 1 from a version-1 server, whose
    /// connection then refuses the version-2 commands with <see cref="BlinkUnknownCommandException"/>
    /// before sending) and its limits. It is thread-safe and pipelined: calls from any number of threads are written in turn and answered in order by a
    /// reader thread of its own, so a batch is read while it is written (SPEC §8). Any close fails every
    /// waiting call with <see cref="BlinkConnectionException"/>; the connection is then unusable.
    /// Use <see cref="BlinkClient"/> for a pool of them.
    /// </summary>
    public sealed class BlinkConnection : BlinkCommands, IDisposable
    {
        readonly Socket socket;
        readonly BlinkOptions options;
        readonly RequestWriter writer;
        readonly ReplyReader reader;
        readonly object writeLock = new object();
        readonly object pendingLock = new object();
        readonly Queue<PendingReply> pending = new Queue<PendingReply>();
        readonly long readTimeoutTicks;
        volatile BlinkException closeCause; // written under pendingLock, read without it
        volatile BlinkLimits limits = BlinkLimits.Ceilings;
        volatile bool preAuth = true;
        // The version of the last HELLO reply: a connection speaks 1 until HELLO says otherwise.
        volatile byte version = 1;
        // Under pendingLock: the version the requests written so far are decoded at, assuming each
        // HELLO in flight gets the version it asked for (SPEC §10: commands MAY be pipelined behind
        // HELLO 2; if the server answers 1, it refuses them itself), and how many HELLOs are in flight.
        byte versionAhead = 1;
        int hellosInFlight;

        BlinkConnection(Socket socket, BlinkOptions options)
        {
            this.socket = socket;
            this.options = options;
            writer = new RequestWriter(socket);
            reader = new ReplyReader(socket, () => limits.MaxFrameBytes);
            readTimeoutTicks = options.ReadTimeout < TimeSpan.Zero
                ? long.MaxValue
                : (long)(options.ReadTimeout.TotalSeconds * Stopwatch.Frequency);
            CreatedAt = Stopwatch.GetTimestamp();
            new Thread(ReadLoop) { IsBackground = true, Name = $"blink reader {options.Endpoint}" }.Start();
            if (readTimeoutTicks != long.MaxValue)
                ResponseWatchdog.Register(this);
        }

        /// <summary>Connects to <see cref="BlinkOptions.Endpoint"/> and completes the handshake.</summary>
        /// <exception cref="BlinkAuthFailedException">The token is wrong.</exception>
        /// <exception cref="BlinkConnectionException">The connect failed, timed out or the server pushed back.</exception>
        public static async Task<BlinkConnection> ConnectAsync(BlinkOptions options, CancellationToken cancel = default(CancellationToken))
        {
            options = (options ?? throw new ArgumentNullException(nameof(options))).Snapshot();
            Socket socket = await SocketFactory.ConnectAsync(options, cancel).ConfigureAwait(false);
            var connection = new BlinkConnection(socket, options);
            try
            {
                await connection.HandshakeAsync(cancel).ConfigureAwait(false);
                return connection;
            }
            catch
            {
                connection.Dispose();
                throw;
            }
        }

        /// <summary>Connects and completes the handshake, blocking.</summary>
        public static BlinkConnection Connect(BlinkOptions options) => ConnectAsync(options).GetAwaiter().GetResult();

        /// <summary>The server's address.</summary>
        public EndPoint Endpoint => options.Endpoint;

        /// <summary>The limits the last HELLO reported (the protocol ceilings before it).</summary>
        public BlinkLimits Limits => limits;

        /// <summary>The protocol version of the last HELLO reply: 2, or 1 from a server without the version-2 commands.</summary>
        public int Version => version;

        /// <summary>Whether the connection is still open (false once closed, by either side).</summary>
        public bool IsConnected => closeCause == null;

        /// <summary>When the connection was opened (a <see cref="Stopwatch"/> timestamp).</summary>
        internal long CreatedAt { get; }

        /// <summary>Why the connection closed; null while it is open.</summary>
        internal BlinkException CloseCause => closeCause;

        /// <summary>HELLO 2: the negotiated version and the limits; they become this connection's.</summary>
        public Task<HelloInfo> HelloAsync(CancellationToken cancel = default(CancellationToken)) => ExecuteAsync(Commands.Hello(), cancel);

        /// <summary>
        /// HELLO with <paramref name="version"/> (1 or 2): the connection then speaks the version of the
        /// reply (SPEC §10), version 1 without ADD, REPLACE, INCR, APPEND, FLUSH and SCAN.
        /// </summary>
        public Task<HelloInfo> HelloAsync(int version, CancellationToken cancel = default(CancellationToken)) =>
            ExecuteAsync(Commands.Hello(version), cancel);

        /// <summary>HELLO 2, blocking.</summary>
        public HelloInfo Hello() => Execute(Commands.Hello());

        /// <summary>HELLO with <paramref name="version"/> (1 or 2), blocking.</summary>
        public HelloInfo Hello(int version) => Execute(Commands.Hello(version));

        /// <summary>AUTH with <paramref name="token"/>; a wrong one throws <see cref="BlinkAuthFailedException"/> and closes the connection.</summary>
        public Task AuthAsync(byte[] token, CancellationToken cancel = default(CancellationToken)) => ExecuteAsync(Commands.Auth(token), cancel);

        /// <summary>AUTH, blocking.</summary>
        public void Auth(byte[] token) => Execute(Commands.Auth(token));

        /// <summary>Closes the connection; calls still waiting fail with <see cref="BlinkConnectionException"/>.</summary>
        public void Dispose() => Fail(new BlinkConnectionException($"the connection to {Endpoint} was closed by the client"));

        internal override T Execute<T>(Command<T> command) => command.Parse(Send(command.Request).Wait());

        internal override Task<T> ExecuteAsync<T>(Command<T> command, CancellationToken cancel)
        {
            if (cancel.IsCancellationRequested)
                return Task.FromCanceled<T>(cancel);
            try
            {
                return Send(command.Request).Track(command.Parse, cancel);
            }
            catch (BlinkRejectedException e)
            {
                return Task.FromException<T>(e);
            }
        }

        internal override Task ExecuteBatchAsync(IReadOnlyList<BatchEntry> entries, CancellationToken cancel)
        {
            cancel.ThrowIfCancellationRequested();
            lock (writeLock)
            {
                foreach (var entry in entries)
                {
                    if (Check(entry.Request, entry.Fail))
                        entry.Bind(QueueAndAdd(entry.Request));
                }
                FlushOrFail();
            }
            return BatchEntry.WhenAll(entries, cancel);
        }

        /// <summary>
        /// Whether the connection looks dead before it is lent: closed, or readable while no call waits
        /// (the peer's close or an unsolicited closing status; go-redis's connCheck).
        /// </summary>
        internal bool LooksDeadWhileIdle()
        {
            lock (pendingLock)
            {
                if (closeCause != null)
                    return true;
                if (pending.Count > 0)
                    return false;
            }
            try
            {
                return socket.Poll(0, SelectMode.SelectRead);
            }
            catch (Exception e) when (e is SocketException || e is ObjectDisposedException)
            {
                return true;
            }
        }

        /// <summary>Closes the connection when its oldest call has had no reply and no bytes for the read timeout.</summary>
        internal void CheckResponseDeadline()
        {
            PendingReply head;
            lock (pendingLock)
            {
                if (pending.Count == 0)
                    return;
                head = pending.Peek();
            }
            long since = Math.Max(head.QueuedAt, reader.LastProgressAt);
            if (Stopwatch.GetTimestamp() - since > readTimeoutTicks)
                Fail(new BlinkTimeoutException($"no reply from {Endpoint} within the read timeout of {options.ReadTimeout.TotalMilliseconds} ms; the connection was closed"));
        }

        async Task HandshakeAsync(CancellationToken cancel)
        {
            var batch = new BlinkBatch(this);
            Task<HelloInfo> hello = batch.Add(Commands.Hello());
            Task auth = options.Token == null ? null : batch.Add(Commands.Auth(options.Token));
            Task all = batch.ExecuteAsync(cancel);
            await hello.ConfigureAwait(false);
            if (auth != null)
                await auth.ConfigureAwait(false);
            await all.ConfigureAwait(false);
        }

        /// <summary>
        /// The refusal of a request the connection's version does not have (SPEC §10, §14: the version-2
        /// commands on a version-1 connection are not sent), or null.
        /// </summary>
        internal static BlinkUnknownCommandException VersionRefusal(Request request, int version) =>
            request.SinceVersion <= version ? null : new BlinkUnknownCommandException(
                $"{request.Op} needs protocol version {request.SinceVersion}; the connection speaks {version}: not sent", null);

        /// <summary>Queues and writes one request; failures land in the returned slot.</summary>
        PendingReply Send(Request request)
        {
            limits.Check(request, preAuth);
            lock (writeLock)
            {
                PendingReply slot = QueueAndAdd(request);
                FlushOrFail();
                return slot;
            }
        }

        /// <summary>Runs the local limit check; a refused request fails through <paramref name="fail"/>.</summary>
        bool Check(Request request, Action<Exception> fail)
        {
            try
            {
                limits.Check(request, preAuth);
                return true;
            }
            catch (BlinkRejectedException e)
            {
                fail(e);
                return false;
            }
        }

        /// <summary>
        /// Takes the request's place in the reply FIFO, then adds its bytes (write lock held). A request
        /// the connection's version lacks fails in its slot, unsent.
        /// </summary>
        PendingReply QueueAndAdd(Request request)
        {
            var slot = new PendingReply(request.Op);
            lock (pendingLock)
            {
                if (closeCause != null)
                {
                    slot.Fail(StatusErrors.Orphaned(closeCause));
                    return slot;
                }
                BlinkUnknownCommandException refusal = VersionRefusal(request, versionAhead);
                if (refusal != null)
                {
                    slot.Fail(refusal);
                    return slot;
                }
                if (request.Op == Opcode.Hello)
                {
                    versionAhead = request.Version;
                    hellosInFlight++;
                }
                pending.Enqueue(slot);
            }
            try
            {
                writer.Add(request);
            }
            catch (Exception e) when (e is SocketException || e is ObjectDisposedException)
            {
                writer.Reset();
                Fail(new BlinkConnectionException($"writing to {Endpoint} failed: {e.Message}", null, e));
            }
            return slot;
        }

        void FlushOrFail()
        {
            try
            {
                writer.Flush();
            }
            catch (Exception e) when (e is SocketException || e is ObjectDisposedException)
            {
                writer.Reset();
                Fail(new BlinkConnectionException($"writing to {Endpoint} failed: {e.Message}", null, e));
            }
        }

        void ReadLoop()
        {
            try
            {
                while (reader.TryRead(out Reply reply))
                {
                    if (!Dispatch(reply))
                        return;
                }
                Fail(new BlinkConnectionException($"{Endpoint} closed the connection"));
            }
            catch (BlinkProtocolException e)
            {
                Fail(e);
            }
            catch (Exception e) when (e is SocketException || e is ObjectDisposedException)
            {
                Fail(new BlinkConnectionException($"reading from {Endpoint} failed: {e.Message}", null, e));
            }
        }

        /// <summary>Hands a reply to the oldest waiting call; false when the connection is done (a closing status).</summary>
        bool Dispatch(Reply reply)
        {
            PendingReply head = null;
            lock (pendingLock)
            {
                if (pending.Count > 0)
                    head = pending.Dequeue();
            }
            bool closing = StatusErrors.Closes(reply.Status);
            if (head == null)
            {
                Fail(closing ? StatusErrors.FromReply(reply) : new BlinkProtocolException("a reply arrived with no request waiting for it"));
                return false;
            }
            BlinkProtocolException unspoken = Learn(head.Op, reply);
            if (unspoken != null)
            {
                head.Fail(unspoken);
                Fail(unspoken); // SPEC §10: a client that does not speak the version in the reply closes
                return false;
            }
            head.Complete(reply);
            if (!closing)
                return true;
            Fail(StatusErrors.FromReply(reply));
            return false;
        }

        /// <summary>
        /// Applies what a reply teaches the connection before its caller sees it (reader thread): a HELLO
        /// reply's version and limits, an AUTH's success. Returns the error of a HELLO reply this client
        /// cannot speak, or null.
        /// </summary>
        BlinkProtocolException Learn(Opcode op, Reply reply)
        {
            bool ok = reply.Status == (byte)BlinkStatus.Ok;
            if (op == Opcode.Auth && ok)
                preAuth = false;
            if (op != Opcode.Hello)
                return null;
            HelloInfo hello = default(HelloInfo);
            BlinkProtocolException error = null;
            if (ok)
            {
                try
                {
                    hello = Commands.ParseHello(reply);
                    limits = hello.Limits;
                    preAuth = hello.AuthRequired;
                }
                catch (BlinkProtocolException e)
                {
                    error = e;
                }
            }
            lock (pendingLock)
            {
                hellosInFlight--;
                if (ok && error == null)
                    version = hello.Version;
                if (hellosInFlight == 0)
                    versionAhead = version;
            }
            return error;
        }

        /// <summary>Closes the connection once, with <paramref name="cause"/>, and fails every waiting call.</summary>
        internal void Fail(BlinkException cause)
        {
            PendingReply[] orphans;
            lock (pendingLock)
            {
                if (closeCause != null)
                    return;
                closeCause = cause;
                orphans = pending.ToArray();
                pending.Clear();
            }
            ResponseWatchdog.Unregister(this);
            SocketFactory.Close(socket);
            foreach (var slot in orphans)
                slot.Fail(StatusErrors.Orphaned(cause));
        }

    }
}
