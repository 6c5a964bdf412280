// What a client is configured with: where the server is, the token, the timeouts of one
// connection, and the pool's settings, each named by what it protects against.
using System;
using System.Net;
using System.Net.Sockets;

namespace BlinkStore.Client
{
    /// <summary>Settings of one connection, and of the pool a <see cref="BlinkClient"/> keeps.</summary>
    public sealed class BlinkOptions
    {
        /// <summary>The server's default TCP port.</summary>
        public const int DefaultPort = 25465;

        /// <summary>
        /// Where the server listens: an <see cref="IPEndPoint"/> or <see cref="DnsEndPoint"/> for TCP, a
        /// <see cref="UnixDomainSocketEndPoint"/> for a Unix socket. See <see cref="ParseEndpoint"/>.
        /// </summary>
        public EndPoint Endpoint { get; set; } = new IPEndPoint(IPAddress.Loopback, DefaultPort);

        /// <summary>The shared-secret token, sent with AUTH pipelined behind HELLO; null for none.</summary>
        public byte[] Token { get; set; }

        /// <summary>Bounds the TCP or Unix connect (HELLO and AUTH are bounded by <see cref="ReadTimeout"/>).</summary>
        public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(1);

        /// <summary>
        /// The response timeout: a connection with calls waiting that receives nothing for this long is
        /// half-open or stalled; it is closed and its calls fail with <see cref="BlinkTimeoutException"/>.
        /// <see cref="System.Threading.Timeout.InfiniteTimeSpan"/> turns it off.
        /// </summary>
        public TimeSpan ReadTimeout { get; set; } = TimeSpan.FromSeconds(2);

        /// <summary>Bounds one socket send when the server stops reading; past it the connection is closed.</summary>
        public TimeSpan WriteTimeout { get; set; } = TimeSpan.FromSeconds(2);

        /// <summary>The pool's settings (used by <see cref="BlinkClient"/>).</summary>
        public BlinkPoolOptions Pool { get; set; } = new BlinkPoolOptions();

        /// <summary>
        /// Parses <c>host:port</c> (TCP) or <c>unix:/path/to/socket</c> (a Unix socket; a bare absolute
        /// path works too).
        /// </summary>
        public static EndPoint ParseEndpoint(string address)
        {
            if (string.IsNullOrEmpty(address))
                throw new ArgumentException("an address is host:port or unix:/path", nameof(address));
            if (address.StartsWith("unix:", StringComparison.Ordinal))
                return new UnixDomainSocketEndPoint(address.Substring("unix:".Length));
            if (address.StartsWith("/", StringComparison.Ordinal))
                return new UnixDomainSocketEndPoint(address);
            int colon = address.LastIndexOf(':');
            if (colon <= 0 || !int.TryParse(address.Substring(colon + 1), out int port) || port < 0 || port > 65535)
                throw new ArgumentException($"not host:port: {address}", nameof(address));
            string host = address.Substring(0, colon).Trim('[', ']');
            return IPAddress.TryParse(host, out IPAddress ip) ? (EndPoint)new IPEndPoint(ip, port) : new DnsEndPoint(host, port);
        }

        /// <summary>A copy whose <see cref="Pool"/> is a copy too, so a client's settings cannot change under it.</summary>
        internal BlinkOptions Snapshot()
        {
            if (Endpoint == null)
                throw new ArgumentException("BlinkOptions.Endpoint is required");
            if (ConnectTimeout <= TimeSpan.Zero)
                throw new ArgumentOutOfRangeException(nameof(ConnectTimeout), ConnectTimeout, "a connect is always bounded");
            if (ReadTimeout <= TimeSpan.Zero && ReadTimeout != System.Threading.Timeout.InfiniteTimeSpan)
                throw new ArgumentOutOfRangeException(nameof(ReadTimeout), ReadTimeout, "positive, or Timeout.InfiniteTimeSpan to turn it off");
            var copy = (BlinkOptions)MemberwiseClone();
            copy.Pool = (Pool ?? new BlinkPoolOptions()).Validated();
            return copy;
        }
    }

    /// <summary>The pool's settings, each named by the failure it protects against (HikariCP's model).</summary>
    public sealed class BlinkPoolOptions
    {
        /// <summary>
        /// The most connections open at once, lent or idle: bounds the load one process puts on the server
        /// (its --max-connections is shared by every client).
        /// </summary>
        public int MaxSize { get; set; } = 8;

        /// <summary>Connections kept open and idle (warm), so a burst does not pay for connects.</summary>
        public int MinIdle { get; set; } = 1;

        /// <summary>How long a borrow waits for a connection when all are lent: exhaustion fails instead of hanging.</summary>
        public TimeSpan BorrowTimeout { get; set; } = TimeSpan.FromSeconds(1);

        /// <summary>An idle connection unused this long is PINGed before it is lent (silently dead connections).</summary>
        public TimeSpan ValidateAfterIdle { get; set; } = TimeSpan.FromSeconds(5);

        /// <summary>Idle connections above <see cref="MinIdle"/> are closed after this long: keep it below the server's --idle-timeout-ms.</summary>
        public TimeSpan MaxIdleTime { get; set; } = TimeSpan.FromMinutes(1);

        /// <summary>Connections are replaced after this long (minus up to 2.5 % jitter), so none outlives a network change.</summary>
        public TimeSpan MaxLifetime { get; set; } = TimeSpan.FromMinutes(30);

        /// <summary>A connection lent longer than this is reported through <see cref="System.Diagnostics.Trace"/> with the borrower's stack; zero turns it off.</summary>
        public TimeSpan LeakDetectionThreshold { get; set; } = TimeSpan.Zero;

        /// <summary>The first reconnect delay after a failed connect; it doubles per failure (reconnect storms).</summary>
        public TimeSpan ReconnectBackoffBase { get; set; } = TimeSpan.FromMilliseconds(50);

        /// <summary>The longest reconnect delay; also the delay after ERR_AUTH_FAILED, which is never retried in a loop.</summary>
        public TimeSpan ReconnectBackoffMax { get; set; } = TimeSpan.FromSeconds(2);

        /// <summary>Up to this much random delay is added to each reconnect delay, so clients do not reconnect in step.</summary>
        public TimeSpan ReconnectJitter { get; set; } = TimeSpan.FromMilliseconds(200);

        /// <summary>How often the pool evicts stale idle connections, refills <see cref="MinIdle"/> and looks for leaks.</summary>
        public TimeSpan MaintenanceInterval { get; set; } = TimeSpan.FromSeconds(1);

        internal BlinkPoolOptions Validated()
        {
            if (MaxSize < 1)
                throw new ArgumentOutOfRangeException(nameof(MaxSize), MaxSize, "at least 1");
            if (MinIdle < 0 || MinIdle > MaxSize)
                throw new ArgumentOutOfRangeException(nameof(MinIdle), MinIdle, "between 0 and MaxSize");
            if (BorrowTimeout < TimeSpan.Zero)
                throw new ArgumentOutOfRangeException(nameof(BorrowTimeout), BorrowTimeout, "a borrow is always bounded (zero: fail at once when all are lent)");
            if (MaintenanceInterval <= TimeSpan.Zero)
                throw new ArgumentOutOfRangeException(nameof(MaintenanceInterval), MaintenanceInterval, "positive");
            return (BlinkPoolOptions)MemberwiseClone();
        }
    }
}
