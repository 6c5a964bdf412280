// In-process fake servers for the faults a real blink-store never commits: accept and hang,
// malformed replies, oversized replies.
using System;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using NUnit.Framework;

namespace BlinkStore.Client.Tests
{
    /// <summary>A TcpListener on 127.0.0.1:0 that runs a handler per accepted connection.</summary>
    sealed class FakePeer : IDisposable
    {
        readonly TcpListener listener = new TcpListener(IPAddress.Loopback, 0);
        readonly Action<int, NetworkStream> handler;
        int accepts;
        int clientCloses;

        /// <param name="handler">Runs for each connection: its index (0 first) and its stream.</param>
        public FakePeer(Action<int, NetworkStream> handler)
        {
            this.handler = handler;
            listener.Start();
            Task.Run(AcceptLoop);
        }

        public BlinkOptions Options() => new BlinkOptions
        {
            Endpoint = listener.LocalEndpoint,
            Pool = new BlinkPoolOptions { MinIdle = 0 },
        };

        public int Accepts => Volatile.Read(ref accepts);

        /// <summary>Waits until the client closed <paramref name="count"/> connections.</summary>
        public void WaitClientCloses(int count, int timeoutMs = 2000) =>
            Eventually.True(() => Volatile.Read(ref clientCloses) >= count, $"{count} client close(s)", timeoutMs);

        /// <summary>Reads and drops everything until the client closes, then counts the close.</summary>
        public void AwaitClientClose(Stream stream)
        {
            var sink = new byte[4096];
            try
            {
                while (stream.Read(sink, 0, sink.Length) > 0)
                {
                }
            }
            catch (IOException)
            {
                // A reset is a close too.
            }
            Interlocked.Increment(ref clientCloses);
        }

        /// <summary>Reads one request frame (the test's peers trust their client's framing).</summary>
        public static byte[] ReadFrame(Stream stream)
        {
            byte[] header = ReadExactly(stream, Wire.HeaderBytes);
            return ReadExactly(stream, (int)Wire.ReadUInt32(header, 0));
        }

        /// <summary>Reads HELLO and answers it as a version-1 server with <paramref name="maxFrameBytes"/>.</summary>
        public static void AnswerHello(Stream stream, uint maxFrameBytes = 4096)
        {
            byte[] hello = ReadFrame(stream);
            Assert.AreEqual((byte)Opcode.Hello, hello[0], "the first request is HELLO");
            byte[] reply = HelloReply(maxFrameBytes);
            stream.Write(reply, 0, reply.Length);
        }

        /// <summary>A version-1 server's HELLO reply: no AUTH needed, max_key 1024, max_value 1 MiB, and <paramref name="maxFrameBytes"/>.</summary>
        public static byte[] HelloReply(uint maxFrameBytes)
        {
            byte[] reply = { 0, 0, 0, 15, 0, 1, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0x10, 0, 0 };
            reply[7] = (byte)(maxFrameBytes >> 24);
            reply[8] = (byte)(maxFrameBytes >> 16);
            reply[9] = (byte)(maxFrameBytes >> 8);
            reply[10] = (byte)maxFrameBytes;
            return reply;
        }

        /// <summary>Answers every request with an empty OK until the client closes.</summary>
        public void ServeOk(Stream stream)
        {
            try
            {
                while (true)
                {
                    ReadFrame(stream);
                    stream.Write(new byte[] { 0, 0, 0, 1, 0 }, 0, 5);
                }
            }
            catch (IOException)
            {
                Interlocked.Increment(ref clientCloses);
            }
        }

        public void Dispose() => listener.Stop();

        static byte[] ReadExactly(Stream stream, int count)
        {
            var bytes = new byte[count];
            for (int read = 0; read < count;)
            {
                int n = stream.Read(bytes, read, count - read);
                if (n == 0)
                    throw new IOException("the client closed");
                read += n;
            }
            return bytes;
        }

        async Task AcceptLoop()
        {
            while (true)
            {
                TcpClient client;
                try
                {
                    client = await listener.AcceptTcpClientAsync();
                }
                catch (Exception e) when (e is SocketException || e is ObjectDisposedException)
                {
                    return; // stopped
                }
                int index = Interlocked.Increment(ref accepts) - 1;
                var thread = new Thread(() =>
                {
                    using (client)
                    {
                        try
                        {
                            handler(index, client.GetStream());
                        }
                        catch (IOException)
                        {
                            Interlocked.Increment(ref clientCloses);
                        }
                    }
                }) { IsBackground = true };
                thread.Start();
            }
        }
    }
}
