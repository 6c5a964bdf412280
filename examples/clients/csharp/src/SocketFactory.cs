// Opening and closing sockets: TCP (no Nagle delay, keepalive) or a Unix socket, with a
// bounded connect.
using System;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;

namespace BlinkStore.Client
{
    /// <summary>Creates connected sockets for <see cref="BlinkOptions.Endpoint"/> and closes them.</summary>
    static class SocketFactory
    {
        public static async Task<Socket> ConnectAsync(BlinkOptions options, CancellationToken cancel)
        {
            EndPoint endpoint = await ResolveAsync(options.Endpoint).ConfigureAwait(false);
            var socket = endpoint is UnixDomainSocketEndPoint
                ? new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
                : new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                Task connect = socket.ConnectAsync(endpoint);
                Task timeout = Task.Delay(options.ConnectTimeout, cancel);
                if (await Task.WhenAny(connect, timeout).ConfigureAwait(false) != connect)
                {
                    _ = connect.ContinueWith(t => t.Exception, TaskContinuationOptions.OnlyOnFaulted);
                    cancel.ThrowIfCancellationRequested();
                    throw new BlinkTimeoutException($"connecting to {options.Endpoint} took over {options.ConnectTimeout.TotalMilliseconds} ms");
                }
                await connect.ConfigureAwait(false);
                Configure(socket, options);
                return socket;
            }
            catch (SocketException e)
            {
                Close(socket);
                throw new BlinkConnectionException($"connecting to {options.Endpoint} failed: {e.Message}", null, e);
            }
            catch
            {
                Close(socket);
                throw;
            }
        }

        /// <summary>Shuts both directions down (waking the reader thread) and releases the socket.</summary>
        public static void Close(Socket socket)
        {
            try
            {
                socket.Shutdown(SocketShutdown.Both);
            }
            catch (Exception e) when (e is SocketException || e is ObjectDisposedException)
            {
                // Not connected, or closed already: nothing to shut down.
            }
            socket.Dispose();
        }

        static void Configure(Socket socket, BlinkOptions options)
        {
            if (socket.AddressFamily != AddressFamily.Unix)
            {
                socket.NoDelay = true;
                socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
            }
            if (options.WriteTimeout > TimeSpan.Zero)
                socket.SendTimeout = (int)Math.Min(int.MaxValue, options.WriteTimeout.TotalMilliseconds);
        }

        static async Task<EndPoint> ResolveAsync(EndPoint endpoint)
        {
            if (!(endpoint is DnsEndPoint dns))
                return endpoint;
            IPAddress[] addresses = await Dns.GetHostAddressesAsync(dns.Host).ConfigureAwait(false);
            IPAddress address = addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? addresses.FirstOrDefault();
            if (address == null)
                throw new BlinkConnectionException($"{dns.Host} has no address");
            return new IPEndPoint(address, dns.Port);
        }
    }
}
