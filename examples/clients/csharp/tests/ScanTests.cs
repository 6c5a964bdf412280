// SCAN walks against a real server (the conformance kit's "SCAN walks"): thousands of keys under
// two prefixes, one prefix walked with a small count, every key returned exactly once, through
// the blocking walk, the asynchronous one, and a page loop over the pool.
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Threading.Tasks;
using NUnit.Framework;

namespace BlinkStore.Client.Tests
{
    [TestFixture, Timeout(120000)]
    public class ScanTests
    {
        const int AKeys = 3000;
        const int BKeys = 2000;

        /// <summary>Writes a:0 .. a:2999 and b:0 .. b:1999 in one batch; returns the a keys.</summary>
        static async Task<HashSet<string>> WriteKeys(BlinkCommands commands)
        {
            var batch = commands.CreateBatch();
            var sets = new List<Task>();
            for (int i = 0; i < AKeys; i++)
                sets.Add(batch.SetAsync($"a:{i}", "v"));
            for (int i = 0; i < BKeys; i++)
                sets.Add(batch.SetAsync($"b:{i}", "v"));
            await batch.ExecuteAsync();
            await Task.WhenAll(sets);
            return new HashSet<string>(Enumerable.Range(0, AKeys).Select(i => $"a:{i}"));
        }

        static void AssertExactlyOnce(HashSet<string> expected, List<string> walked, string what)
        {
            Assert.AreEqual(expected.Count, walked.Count, $"{what}: keys walked (a duplicate or a miss)");
            CollectionAssert.AreEquivalent(expected, walked, what);
        }

        [Test]
        public async Task ScanKeysWalksOnePrefixExactlyOnce()
        {
            using (var server = TestServer.Start())
            using (var connection = await BlinkConnection.ConnectAsync(server.TcpOptions()))
            {
                var aKeys = await WriteKeys(connection);
                var walked = connection.ScanKeys(Encoding.UTF8.GetBytes("a:"), count: 7).Select(k => Encoding.UTF8.GetString(k)).ToList();
                AssertExactlyOnce(aKeys, walked, "ScanKeys");

                var everything = connection.ScanKeys("").ToList();
                Assert.AreEqual(AKeys + BKeys, everything.Count);
                Assert.AreEqual(AKeys + BKeys, everything.Distinct().Count());
            }
        }

        [Test]
        public async Task ScanKeysAsyncWalksOnePrefixExactlyOnce()
        {
            using (var server = TestServer.Start())
            using (var client = new BlinkClient(server.TcpOptions()))
            {
                var aKeys = await WriteKeys(client);
                var walked = new List<string>();
                var keys = client.ScanKeysAsync("a:", count: 10).GetAsyncEnumerator();
                while (await keys.MoveNextAsync())
                    walked.Add(keys.Current);
                await keys.DisposeAsync();
                AssertExactlyOnce(aKeys, walked, "ScanKeysAsync on the pool");
            }
        }

        [Test]
        public async Task APageLoopOverThePoolWalksExactlyOnce()
        {
            using (var server = TestServer.Start())
            using (var client = new BlinkClient(server.TcpOptions()))
            {
                var aKeys = await WriteKeys(client);
                var walked = new List<string>();
                ulong cursor = 0;
                int pages = 0;
                do
                {
                    ScanPage page = await client.ScanAsync(cursor, 10, "a:"); // each page may use another connection
                    walked.AddRange(page.Keys.Select(k => Encoding.UTF8.GetString(k)));
                    cursor = page.NextCursor;
                    pages++;
                } while (cursor != 0);
                AssertExactlyOnce(aKeys, walked, "a page loop");
                Assert.Greater(pages, 10, "the count was not small");
            }
        }

        [Test]
        public async Task EachEnumerationIsANewWalk()
        {
            using (var server = TestServer.Start())
            using (var connection = await BlinkConnection.ConnectAsync(server.TcpOptions()))
            {
                await connection.SetAsync("p:1", "v");
                IEnumerable<string> keys = connection.ScanKeys("p:");
                CollectionAssert.AreEqual(new[] { "p:1" }, keys.ToList());
                CollectionAssert.AreEqual(new[] { "p:1" }, keys.ToList(), "a second walk starts from cursor 0");
                Assert.IsEmpty(connection.ScanKeys("q:").ToList(), "no key under the prefix");
                var none = connection.ScanKeysAsync("q:").GetAsyncEnumerator();
                Assert.IsFalse(await none.MoveNextAsync());
                Assert.Throws<System.ArgumentOutOfRangeException>(() => connection.ScanKeys(new byte[0], 70000), "checked at the call");
                Assert.Throws<System.ArgumentNullException>(() => connection.ScanKeys((byte[])null));
            }
        }
    }
}
