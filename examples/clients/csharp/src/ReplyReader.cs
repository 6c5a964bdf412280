// The receive side of a connection: one growable buffer with a read offset, filled from the
// socket and cut into reply frames (SPEC §3; no re-concatenation, no allocation from a length).
using System;
using System.Diagnostics;
using System.Net.Sockets;
using System.Threading;

namespace BlinkStore.Client
{
    /// <summary>Reads whole reply frames from a socket; used by the connection's reader thread only.</summary>
    sealed class ReplyReader
    {
        /// <summary>The buffer's starting size, and the size it shrinks back to after a large reply.</summary>
        const int InitialBytes = 64 * 1024;

        readonly Socket socket;
        readonly Func<uint> maxFrameBytes;
        byte[] buffer = new byte[InitialBytes];
        int start;
        int end;
        long lastProgressAt = Stopwatch.GetTimestamp();

        /// <param name="socket">The connected socket.</param>
        /// <param name="maxFrameBytes">The reply length limit in force (it changes after HELLO).</param>
        public ReplyReader(Socket socket, Func<uint> maxFrameBytes)
        {
            this.socket = socket;
            this.maxFrameBytes = maxFrameBytes;
        }

        /// <summary>When bytes last arrived (a <see cref="Stopwatch"/> timestamp); read from other threads.</summary>
        public long LastProgressAt => Interlocked.Read(ref lastProgressAt);

        /// <summary>
        /// Blocks until a whole reply is buffered and returns it; false when the peer closed. An invalid
        /// frame throws <see cref="BlinkProtocolException"/> as soon as its header shows it.
        /// </summary>
        public bool TryRead(out Reply reply)
        {
            while (true)
            {
                var outcome = Wire.TryDecodeReply(buffer, start, end - start, maxFrameBytes(), out reply, out int frameBytes);
                if (outcome == DecodeOutcome.Reply)
                {
                    start += frameBytes;
                    return true;
                }
                if (outcome == DecodeOutcome.Invalid)
                    throw new BlinkProtocolException(Describe());
                MakeRoom();
                int n = socket.Receive(buffer, end, buffer.Length - end, SocketFlags.None);
                if (n == 0)
                    return false;
                end += n;
                Interlocked.Exchange(ref lastProgressAt, Stopwatch.GetTimestamp());
            }
        }

        /// <summary>Frees space for the rest of the frame at <see cref="start"/>: compacts, grows or shrinks the buffer.</summary>
        void MakeRoom()
        {
            int buffered = end - start;
            int needed = buffered >= Wire.HeaderBytes
                ? Wire.HeaderBytes + (int)Wire.ReadUInt32(buffer, start)
                : Wire.HeaderBytes;
            int size = Math.Max(InitialBytes, needed);
            if (buffer.Length - start >= needed && end < buffer.Length && buffer.Length <= 2 * size)
                return;
            byte[] target = buffer.Length >= size && buffer.Length <= 2 * size ? buffer : new byte[size];
            Buffer.BlockCopy(buffer, start, target, 0, buffered);
            buffer = target;
            start = 0;
            end = buffered;
        }

        string Describe()
        {
            int buffered = end - start;
            if (buffer[start] >= Wire.FirstInvalidByte)
                return $"a reply starting with byte 0x{buffer[start]:x2} is not a Blink frame";
            uint len = Wire.ReadUInt32(buffer, start);
            return len == 0
                ? "a reply frame of length 0"
                : $"a reply frame of {len} bytes exceeds max_frame_bytes {maxFrameBytes()} ({buffered} bytes buffered)";
        }
    }
}
