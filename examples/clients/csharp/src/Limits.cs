// The sizes a connection may send, learned from HELLO, and the local check that refuses a
// request over them before a byte is written (SPEC §4, §11, §14).
namespace BlinkStore.Client
{
    /// <summary>A connection's limits, in bytes, as HELLO reports them (SPEC §4).</summary>
    public sealed class BlinkLimits
    {
        /// <summary>The protocol ceilings: what a client may assume before HELLO.</summary>
        public static readonly BlinkLimits Ceilings = new BlinkLimits(Wire.FrameBytesCeiling, ushort.MaxValue, Wire.FrameBytesCeiling);

        /// <summary>Creates a limit set.</summary>
        public BlinkLimits(uint maxFrameBytes, uint maxKeyBytes, uint maxValueBytes)
        {
            MaxFrameBytes = maxFrameBytes;
            MaxKeyBytes = maxKeyBytes;
            MaxValueBytes = maxValueBytes;
        }

        /// <summary>The largest request payload (and reply) length.</summary>
        public uint MaxFrameBytes { get; }
        /// <summary>The largest key.</summary>
        public uint MaxKeyBytes { get; }
        /// <summary>The largest SET, ADD or REPLACE value, APPEND suffix and APPEND result.</summary>
        public uint MaxValueBytes { get; }

        /// <summary>
        /// Throws the typed error a request over these limits would get, before it is sent.
        /// <paramref name="preAuth"/>: the connection has not authenticated, so frames stop at 4 096 bytes.
        /// </summary>
        public void Check(Request request, bool preAuth)
        {
            if (request.HasKey && request.Key.Length > MaxKeyBytes)
                throw new BlinkKeyTooLargeException($"key of {request.Key.Length} bytes exceeds max_key_bytes {MaxKeyBytes}");
            bool isValue = request.ValueIsStored; // a SCAN prefix is neither key nor value: only the frame limit holds it
            if (isValue && request.Value.Length > MaxValueBytes)
                throw new BlinkValueTooLargeException($"value of {request.Value.Length} bytes exceeds max_value_bytes {MaxValueBytes}");
            long frameLimit = preAuth ? System.Math.Min(MaxFrameBytes, Wire.PreAuthFrameBytes) : MaxFrameBytes;
            if (request.PayloadBytes <= frameLimit)
                return;
            string what = $"a {request.Op} frame of {request.PayloadBytes} bytes exceeds the frame limit {frameLimit}" +
                          (preAuth ? " before AUTH" : "");
            if (isValue)
                throw new BlinkValueTooLargeException(what);
            throw new BlinkFrameTooLargeException(what);
        }

        /// <inheritdoc/>
        public override string ToString() =>
            $"max_frame_bytes={MaxFrameBytes} max_key_bytes={MaxKeyBytes} max_value_bytes={MaxValueBytes}";
    }
}
