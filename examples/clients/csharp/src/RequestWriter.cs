// The send side of a connection: requests encoded into one reused buffer and written in
// chunks, so a batch costs a few syscalls and a single call one.
using System.Net.Sockets;

namespace BlinkStore.Client
{
    /// <summary>Encodes requests and writes them to a socket; callers hold the connection's write lock.</summary>
    sealed class RequestWriter
    {
        /// <summary>Bytes gathered before a write; a larger frame is written from a buffer of its own.</summary>
        const int ChunkBytes = 64 * 1024;

        readonly Socket socket;
        readonly byte[] buffer = new byte[ChunkBytes];
        int used;

        public RequestWriter(Socket socket)
        {
            this.socket = socket;
        }

        /// <summary>Adds one request (its size was checked against the limits), writing earlier ones when the chunk is full.</summary>
        public void Add(Request request)
        {
            int frameBytes = Wire.HeaderBytes + (int)request.PayloadBytes;
            if (frameBytes > buffer.Length - used)
                Flush();
            if (frameBytes <= buffer.Length)
            {
                used += Wire.Encode(request, buffer, used);
                return;
            }
            var frame = new byte[frameBytes];
            Wire.Encode(request, frame, 0);
            SendAll(frame, frameBytes);
        }

        /// <summary>Writes what was added (blocking while the socket buffer is full, up to the send timeout).</summary>
        public void Flush()
        {
            SendAll(buffer, used);
            used = 0;
        }

        /// <summary>Forgets what was added but not written (after a failure).</summary>
        public void Reset() => used = 0;

        void SendAll(byte[] bytes, int count)
        {
            for (int sent = 0; sent < count;)
                sent += socket.Send(bytes, sent, count - sent, SocketFlags.None);
        }
    }
}
