// The API over one connection: both transports, TTLs as full u64, strings as UTF-8, STATS as a
// dictionary, the handshake with a token, local argument checks, and batches.
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading.Tasks;
using NUnit.Framework;

namespace BlinkStore.Client.Tests
{
    [TestFixture, Timeout(60000)]
    public class ConnectionTests
    {
        [TestCase(false), TestCase(true)]
        public async Task EveryCommandOverTcpAndUnixSockets(bool unix)
        {
            using (var server = TestServer.Start())
            using (var c = await BlinkConnection.ConnectAsync(unix ? server.UnixOptions() : server.TcpOptions()))
            {
                byte[] key = { 0x00, 0x0a, 0xff };
                byte[] value = { 0xff, 0x00, 0x0a, 0x0d };
                await c.PingAsync();
                Assert.IsNull(await c.GetAsync(key), "missing: null, not an exception");
                await c.SetAsync(key, value);
                CollectionAssert.AreEqual(value, await c.GetAsync(key), "binary-safe");
                Assert.AreEqual(KeyTtl.Persistent, (await c.TtlAsync(key)).Value);
                Assert.IsTrue(await c.ExpireAsync(key, TimeSpan.FromMinutes(1)));
                KeyTtl ttl = (await c.TtlAsync(key)).Value;
                Assert.IsTrue(ttl.HasTtl && ttl.RemainingMs > 50000 && ttl.RemainingMs <= 60000, ttl.ToString());
                Assert.IsTrue(await c.PersistAsync(key));
                Assert.IsFalse((await c.TtlAsync(key)).Value.HasTtl);
                Assert.IsTrue(await c.DelAsync(key));
                Assert.IsFalse(await c.DelAsync(key), "DEL of a missing key: false");
                Assert.IsFalse(await c.ExpireAsync(key, 1000ul), "EXPIRE of a missing key: false");
                Assert.IsNull(await c.TtlAsync(key), "TTL of a missing key: null");
                var stats = await c.StatsAsync();
                Assert.AreEqual(2ul, stats["protocol_version"], "the highest version the server speaks");
                Assert.Greater(stats["cmd_get"], 0ul);
            }
        }

        [Test]
        public void TtlIsAFullUnsignedSixtyFourBitCount()
        {
            using (var server = TestServer.Start())
            using (var c = BlinkConnection.Connect(server.TcpOptions()))
            {
                byte[] key = Encoding.UTF8.GetBytes("forever");
                c.Set(key, new byte[0], ulong.MaxValue);
                KeyTtl ttl = c.Ttl(key).Value;
                Assert.IsTrue(ttl.HasTtl);
                Assert.Greater(ttl.RemainingMs, (ulong)long.MaxValue, "read as u64, not i64");
                Assert.IsTrue(c.Expire(key, ulong.MaxValue - 1));
                Assert.IsTrue(c.Persist(key));
                Assert.IsFalse(c.Ttl(key).Value.HasTtl);
            }
        }

        [Test]
        public void NoTtlIsNeverAMagicZero()
        {
            using (var server = TestServer.Start())
            using (var c = BlinkConnection.Connect(server.TcpOptions()))
            {
                byte[] key = Encoding.UTF8.GetBytes("k");
                Assert.Throws<ArgumentOutOfRangeException>(() => c.Set(key, key, TimeSpan.Zero));
                Assert.Throws<ArgumentOutOfRangeException>(() => c.Set(key, key, 0ul));
                Assert.Throws<ArgumentOutOfRangeException>(() => c.Expire(key, TimeSpan.FromTicks(-1)));
                Assert.Throws<ArgumentNullException>(() => c.Get(null));
                c.Set(key, key, TimeSpan.FromTicks(1)); // rounds up to 1 ms
                c.Set(key, key, (TimeSpan?)null);
                Assert.IsFalse(c.Ttl(key).Value.HasTtl, "SET without a TTL makes the key persistent");
            }
        }

        [Test]
        public async Task StringOverloadsAreUtf8()
        {
            using (var server = TestServer.Start())
            using (var client = new BlinkClient(server.TcpOptions()))
            {
                await client.SetAsync("clé", "valeur ✓", TimeSpan.FromSeconds(30));
                Assert.AreEqual("valeur ✓", await client.GetStringAsync("clé"));
                CollectionAssert.AreEqual(Encoding.UTF8.GetBytes("valeur ✓"), client.Get(Encoding.UTF8.GetBytes("clé")));
                Assert.IsTrue((await client.TtlAsync("clé")).Value.HasTtl);
                Assert.IsTrue(await client.ExpireAsync("clé", TimeSpan.FromSeconds(5)));
                Assert.IsTrue(await client.DelAsync("clé"));
                Assert.IsNull(client.GetString("clé"));
            }
        }

        [Test]
        public async Task HelloAndAuthArePipelinedOnConnectWithAToken()
        {
            using (var server = TestServer.Start(token: "s3cret"))
            {
                var options = server.TcpOptions();
                options.Token = Encoding.UTF8.GetBytes("s3cret");
                using (var client = new BlinkClient(options))
                {
                    await client.SetAsync("k", new string('v', 8000)); // past the 4 096-byte pre-auth frame limit
                    Assert.AreEqual(8000, (await client.GetStringAsync("k")).Length);
                }
                using (var anonymous = await BlinkConnection.ConnectAsync(server.TcpOptions()))
                {
                    Assert.IsTrue((await anonymous.HelloAsync()).AuthRequired);
                    await Expect.Throws<BlinkAuthRequiredException>(() => anonymous.GetAsync(new byte[1]), "GET before AUTH");
                    await Expect.Throws<BlinkValueTooLargeException>(() => anonymous.SetAsync(new byte[1], new byte[5000]), "a frame past the pre-auth limit");
                    await anonymous.AuthAsync(Encoding.UTF8.GetBytes("s3cret"));
                    Assert.AreEqual(8000, (await anonymous.GetAsync(Encoding.UTF8.GetBytes("k"))).Length);
                }
            }
        }

        [Test]
        public async Task BatchCallsKeepTheirOwnOutcomes()
        {
            using (var server = TestServer.Start(args: new[] { "--max-key-bytes", "4" }))
            using (var client = new BlinkClient(server.TcpOptions()))
            {
                var batch = client.CreateBatch();
                Task set = batch.SetAsync("a", "1");
                Task<byte[]> get = batch.GetAsync(Encoding.UTF8.GetBytes("a"));
                Task<byte[]> tooLong = batch.GetAsync(Encoding.UTF8.GetBytes("kkkkk"));
                Task<bool> del = batch.DelAsync(Encoding.UTF8.GetBytes("b"));
                Assert.AreEqual(4, batch.Count);
                await Expect.Throws<BlinkKeyTooLargeException>(() => batch.ExecuteAsync(), "the batch faults with its first failure");
                await set;
                Assert.AreEqual("1", Encoding.UTF8.GetString(await get));
                Assert.IsTrue((await Expect.Throws<BlinkKeyTooLargeException>(() => tooLong, "the long key")).IsLocal);
                Assert.IsFalse(await del);
                Assert.Throws<InvalidOperationException>(() => batch.ExecuteAsync(), "a batch runs once");
            }
        }

        [Test]
        public async Task ConcurrentCallsOnOneConnectionArePipelinedInOrder()
        {
            using (var server = TestServer.Start())
            using (var c = await BlinkConnection.ConnectAsync(server.TcpOptions()))
            {
                var writes = Enumerable.Range(0, 500).Select(i => c.SetAsync($"k{i}", $"v{i}")).ToArray();
                await Task.WhenAll(writes);
                var reads = Enumerable.Range(0, 500).Select(i => Task.Run(() => c.GetStringAsync($"k{i}"))).ToArray();
                string[] values = await Task.WhenAll(reads);
                for (int i = 0; i < values.Length; i++)
                    Assert.AreEqual($"v{i}", values[i]);
            }
        }

        [Test]
        public async Task DisposedConnectionsFailFast()
        {
            using (var server = TestServer.Start())
            {
                var c = await BlinkConnection.ConnectAsync(server.TcpOptions());
                c.Dispose();
                Assert.IsFalse(c.IsConnected);
                await Expect.Throws<BlinkConnectionException>(() => c.PingAsync(), "a call after Dispose");
                var client = new BlinkClient(server.TcpOptions());
                client.Dispose();
                Assert.Throws<ObjectDisposedException>(() => client.Ping());
            }
        }

        [Test]
        public void OptionsOutOfRangeAreRefused()
        {
            var options = new BlinkOptions { ReadTimeout = TimeSpan.Zero };
            Assert.Throws<ArgumentOutOfRangeException>(() => new BlinkClient(options).Dispose());
            options = new BlinkOptions { Pool = new BlinkPoolOptions { BorrowTimeout = System.Threading.Timeout.InfiniteTimeSpan } };
            Assert.Throws<ArgumentOutOfRangeException>(() => new BlinkClient(options).Dispose(), "a borrow that may wait forever");
            options = new BlinkOptions { Pool = new BlinkPoolOptions { MaxSize = 2, MinIdle = 3 } };
            Assert.Throws<ArgumentOutOfRangeException>(() => new BlinkClient(options).Dispose());
        }

        [Test]
        public void EndpointsParse()
        {
            Assert.AreEqual("127.0.0.1:7", BlinkOptions.ParseEndpoint("127.0.0.1:7").ToString());
            Assert.IsInstanceOf<System.Net.DnsEndPoint>(BlinkOptions.ParseEndpoint("localhost:25465"));
            Assert.IsInstanceOf<System.Net.Sockets.UnixDomainSocketEndPoint>(BlinkOptions.ParseEndpoint("unix:/tmp/b.sock"));
            Assert.Throws<ArgumentException>(() => BlinkOptions.ParseEndpoint("no-port"));
        }

        [Test]
        public async Task Version2CommandsOnARealServer()
        {
            using (var server = TestServer.Start())
            using (var c = await BlinkConnection.ConnectAsync(server.TcpOptions()))
            {
                Assert.AreEqual(2, c.Version, "HELLO 2 at connect");
                Assert.IsTrue(await c.AddAsync("k", "first"));
                Assert.IsFalse(await c.AddAsync("k", "second"), "ADD of an existing key: false, unchanged");
                Assert.AreEqual("first", await c.GetStringAsync("k"));
                Assert.IsTrue(c.Replace("k", "third", TimeSpan.FromMinutes(1)));
                Assert.IsTrue(c.Ttl(Encoding.UTF8.GetBytes("k")).Value.HasTtl, "REPLACE sets the TTL as SET does");
                Assert.IsFalse(await c.ReplaceAsync("missing", "v"), "REPLACE of a missing key: false, not created");
                Assert.IsNull(await c.GetStringAsync("missing"));
                Assert.AreEqual(-5, await c.IncrAsync("n", -5), "a missing key counts from 0");
                Assert.AreEqual(long.MaxValue - 5, c.Incr("n", long.MaxValue));
                Assert.AreEqual(long.MaxValue, c.Incr("n", 5));
                var overflow = await Expect.Throws<BlinkNotIntegerException>(() => c.IncrAsync("n"), "an overflowing INCR");
                Assert.AreEqual(BlinkStatus.ErrNotInteger, overflow.Status);
                Expect.Throws<BlinkNotIntegerException>(() => c.Incr("k"), "\"third\" is no integer");
                Assert.AreEqual(long.MaxValue.ToString(), await c.GetStringAsync("n"), "nothing changed");
                Assert.AreEqual(3, await c.AppendAsync(Encoding.UTF8.GetBytes("s"), new byte[] { 0, 1, 2 }));
                Assert.AreEqual(5, c.Append("s", "ab"));
                CollectionAssert.AreEqual(new byte[] { 0, 1, 2, (byte)'a', (byte)'b' }, await c.GetAsync(Encoding.UTF8.GetBytes("s")));
                await c.FlushAsync();
                Assert.IsNull(await c.GetStringAsync("k"));
                Assert.IsEmpty(c.Scan(0, 10, "").Keys, "FLUSH removed every key");
                c.Flush();
                Assert.IsTrue(c.IsConnected);
            }
        }

        [Test]
        public async Task HelloChoosesTheVersionTheConnectionSpeaks()
        {
            using (var server = TestServer.Start())
            using (var c = await BlinkConnection.ConnectAsync(server.TcpOptions()))
            {
                Assert.AreEqual(1, (await c.HelloAsync(1)).Version);
                Assert.AreEqual(1, c.Version);
                var refused = await Expect.Throws<BlinkUnknownCommandException>(() => c.IncrAsync("n"), "INCR at version 1");
                Assert.IsTrue(refused.IsLocal, "not sent at version 1");
                Assert.IsNull(await c.GetStringAsync("n"));

                // HELLO 2 pipelined with version-2 commands (SPEC §10): they are sent behind it.
                Task<HelloInfo> hello = c.HelloAsync(2);
                Task<long> incr = c.IncrAsync("n");
                Assert.AreEqual(2, (await hello).Version);
                Assert.AreEqual(1, await incr);
                Assert.AreEqual(2, c.Version);

                // HELLO 1 pipelined: the commands issued behind it are refused, those before it ran.
                Task<long> before = c.IncrAsync("n");
                Task<HelloInfo> down = c.HelloAsync(1);
                Task<long> after = c.IncrAsync("n");
                Assert.AreEqual(2, await before);
                Assert.AreEqual(1, (await down).Version);
                Assert.IsTrue((await Expect.Throws<BlinkUnknownCommandException>(() => after, "INCR behind HELLO 1")).IsLocal);
                Assert.AreEqual(2, c.Hello().Version, "Hello() asks for version 2 again");
                Assert.Throws<ArgumentOutOfRangeException>(() => c.Hello(3));
            }
        }

        [Test]
        public async Task Version2LimitsAreCheckedLocally()
        {
            using (var server = TestServer.Start(args: new[] { "--max-frame-bytes", "4096", "--max-key-bytes", "4", "--max-value-bytes", "8" }))
            using (var c = await BlinkConnection.ConnectAsync(server.TcpOptions()))
            {
                foreach (Func<Task> call in new Func<Task>[] { () => c.AddAsync("12345", "v"), () => c.ReplaceAsync("12345", "v"), () => c.IncrAsync("12345"), () => c.AppendAsync("12345", "v") })
                    Assert.IsTrue((await Expect.Throws<BlinkKeyTooLargeException>(call, "a 5-byte key")).IsLocal);
                foreach (Func<Task> call in new Func<Task>[] { () => c.AddAsync("k", "123456789"), () => c.ReplaceAsync("k", "123456789"), () => c.AppendAsync("k", "123456789") })
                    Assert.IsTrue((await Expect.Throws<BlinkValueTooLargeException>(call, "a 9-byte value")).IsLocal);
                Assert.AreEqual(8, await c.AppendAsync("k", "12345678"));
                var grown = await Expect.Throws<BlinkValueTooLargeException>(() => c.AppendAsync("k", "9"), "an APPEND past max_value_bytes");
                Assert.IsFalse(grown.IsLocal, "the result's length is the server's to check");
                Assert.IsEmpty((await c.ScanAsync(0, 10, "a prefix longer than a key")).Keys, "a prefix is no key");
                Assert.IsTrue(c.IsConnected);
            }
        }

        [Test]
        public void QuickstartExampleRuns()
        {
            using (var server = TestServer.Start())
            {
                string exe = Path.Combine(AppDomain.CurrentDomain.BaseDirectory, "Quickstart.exe");
                var info = new System.Diagnostics.ProcessStartInfo("mono", $"\"{exe}\" {server.TcpAddress}") { UseShellExecute = false, RedirectStandardOutput = true };
                using (var process = System.Diagnostics.Process.Start(info))
                {
                    string output = process.StandardOutput.ReadToEnd();
                    Assert.IsTrue(process.WaitForExit(30000));
                    Assert.AreEqual(0, process.ExitCode, output);
                    StringAssert.Contains("greeting=hello, blink", output);
                    StringAssert.Contains("lock taken", output);
                    StringAssert.Contains("not an integer: ErrNotInteger", output);
                    StringAssert.Contains("scanned session:42", output);
                    StringAssert.Contains("replaced=False visits=1, then 0 log=8", output);
                    StringAssert.DoesNotContain("still locked", output);
                }
            }
        }

        [Test]
        public void TheReadmeShowsTheQuickstartAsItIs()
        {
            string client = Path.Combine(Vectors.RepoRoot, "examples", "clients", "csharp");
            string source = File.ReadAllText(Path.Combine(client, "examples", "Quickstart", "Quickstart.cs"));
            string readme = File.ReadAllText(Path.Combine(client, "README.md"));
            var names = new List<string>();
            foreach (Match m in Regex.Matches(
                         source, @"// snippet:([a-z0-9-]+)\n(.*?)\n\s*// end", RegexOptions.Singleline))
            {
                names.Add(m.Groups[1].Value);
                string snippet = Dedent(m.Groups[2].Value);
                StringAssert.Contains("```csharp\n" + snippet + "\n```", readme, $"the README lacks the snippet {m.Groups[1].Value}");
            }
            CollectionAssert.AreEqual(new[] { "connect", "basics", "version-2" }, names);
        }

        /// <summary>The lines without their common leading spaces.</summary>
        static string Dedent(string block)
        {
            string[] lines = block.Split('\n');
            int indent = lines.Where(l => l.Trim().Length > 0).Min(l => l.Length - l.TrimStart(' ').Length);
            return string.Join("\n", lines.Select(l => l.Trim().Length == 0 ? "" : l.Substring(indent)));
        }
    }
}
