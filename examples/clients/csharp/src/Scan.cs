// SCAN's results and walks (SPEC §5.2): a page, the lazy walk over every page, blocking
// (IEnumerable) and asynchronous (IAsyncEnumerable, written without C# 8 syntax so that Mono's
// mcs compiles it; C# 8 callers consume it with await foreach).
using System;
using System.Collections.Generic;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace BlinkStore.Client
{
    /// <summary>
    /// One SCAN reply: the keys of one bounded step of a walk and the cursor to send next. A page may
    /// hold fewer keys than asked for, even none, while the walk goes on; it is complete when
    /// <see cref="NextCursor"/> is 0. Send back only 0 or a cursor a page returned.
    /// </summary>
    public sealed class ScanPage
    {
        /// <summary>Creates a page.</summary>
        public ScanPage(ulong nextCursor, IReadOnlyList<byte[]> keys)
        {
            NextCursor = nextCursor;
            Keys = keys ?? throw new ArgumentNullException(nameof(keys));
        }

        /// <summary>The cursor for the next SCAN; 0 when the walk is complete.</summary>
        public ulong NextCursor { get; }

        /// <summary>The keys of this page, in no particular order.</summary>
        public IReadOnlyList<byte[]> Keys { get; }

        /// <summary>Whether this page ends the walk (its cursor is 0).</summary>
        public bool IsLast => NextCursor == 0;

        /// <inheritdoc/>
        public override string ToString() => $"{Keys.Count} keys, next cursor {NextCursor}";
    }

    /// <summary>The walks behind <see cref="BlinkCommands.ScanKeys(byte[], int)"/> and <see cref="BlinkCommands.ScanKeysAsync(byte[], int)"/>.</summary>
    static class KeyWalk
    {
        /// <summary>Every key under <paramref name="prefix"/>, a page at a time as the caller iterates.</summary>
        public static IEnumerable<byte[]> Keys(BlinkCommands commands, byte[] prefix, int count)
        {
            ulong cursor = 0;
            do
            {
                ScanPage page = commands.Scan(cursor, count, prefix);
                foreach (byte[] key in page.Keys)
                    yield return key;
                cursor = page.NextCursor;
            } while (cursor != 0);
        }

        /// <summary>The keys of <paramref name="walk"/> read as UTF-8.</summary>
        public static IEnumerable<string> Utf8(IEnumerable<byte[]> walk)
        {
            foreach (byte[] key in walk)
                yield return Encoding.UTF8.GetString(key);
        }
    }

    /// <summary>
    /// Every key under a prefix, fetched a SCAN page at a time as the caller awaits
    /// <see cref="IAsyncEnumerator{T}.MoveNextAsync"/>; each enumerator is a new walk from cursor 0.
    /// </summary>
    sealed class AsyncKeyWalk<T> : IAsyncEnumerable<T>
    {
        readonly BlinkCommands commands;
        readonly byte[] prefix;
        readonly int count;
        readonly Func<byte[], T> convert;

        public AsyncKeyWalk(BlinkCommands commands, byte[] prefix, int count, Func<byte[], T> convert)
        {
            this.commands = commands;
            this.prefix = prefix;
            this.count = count;
            this.convert = convert;
        }

        public IAsyncEnumerator<T> GetAsyncEnumerator(CancellationToken cancel = default(CancellationToken)) => new Enumerator(this, cancel);

        sealed class Enumerator : IAsyncEnumerator<T>
        {
            readonly AsyncKeyWalk<T> walk;
            readonly CancellationToken cancel;
            IReadOnlyList<byte[]> page = new byte[0][];
            int index = -1;
            ulong cursor;
            bool done;
            T current;

            public Enumerator(AsyncKeyWalk<T> walk, CancellationToken cancel)
            {
                this.walk = walk;
                this.cancel = cancel;
            }

            public T Current => current;

            public async ValueTask<bool> MoveNextAsync()
            {
                while (index + 1 >= page.Count)
                {
                    if (done)
                        return false;
                    ScanPage next = await walk.commands.ScanAsync(cursor, walk.count, walk.prefix, cancel).ConfigureAwait(false);
                    page = next.Keys;
                    index = -1;
                    cursor = next.NextCursor;
                    done = next.IsLast;
                }
                current = walk.convert(page[++index]);
                return true;
            }

            public ValueTask DisposeAsync() => default(ValueTask);
        }
    }
}
