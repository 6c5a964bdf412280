// The conformance kit's fault cases (examples/clients/conformance/faults.json), one test per
// case, named after its id, against real servers and in-process fake peers.
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using NUnit.Framework;

namespace BlinkStore.Client.Tests
{
    [TestFixture, Timeout(120000)]
    public class FaultTests
    {
        static readonly byte[] Key = Encoding.UTF8.GetBytes("k");

        [Test]
        public async Task FaultServerKilledMidPipeline()
        {
            var server = TestServer.Start();
            try
            {
                var options = server.TcpOptions();
                options.ReadTimeout = TimeSpan.FromSeconds(2);
                using (var client = new BlinkClient(options))
                {
                    var value = new byte[64 * 1024]; // 1,000 replies: 64 MiB, far more than socket buffers hold
                    await client.SetAsync(Key, value);
                    var batch = client.CreateBatch();
                    var gets = Enumerable.Range(0, 1000).Select(_ => batch.GetAsync(Key)).ToList();
                    var clock = Stopwatch.StartNew();
                    Task run = batch.ExecuteAsync();
                    Eventually.True(() => gets[0].IsCompleted, "the first reply");
                    server.Kill();
                    Assert.IsTrue(Task.WhenAny(run, Task.Delay(10000)).Result == run, "the batch hangs after the kill");
                    Assert.Less(clock.ElapsedMilliseconds, 8000);
                    await Expect.Throws<BlinkConnectionException>(() => run, "the batch");
                    int answered = 0, failed = 0;
                    foreach (var get in gets)
                    {
                        if (get.Status == TaskStatus.RanToCompletion)
                        {
                            Assert.AreEqual(0, failed, "a GET answered after an earlier one failed");
                            Expect.SameBytes(value, get.Result, "an answered GET");
                            answered++;
                        }
                        else
                        {
                            Assert.IsInstanceOf<BlinkConnectionException>(get.Exception.InnerException);
                            failed++;
                        }
                    }
                    Assert.IsTrue(answered > 0 && failed > 0, $"{answered} answered, {failed} failed: the kill did not land mid-pipeline");

                    long created = client.Metrics.Created;
                    using (TestServer.Start(tcp: server.TcpAddress, directory: server.Directory))
                    {
                        Eventually.True(() => Succeeds(() => client.Ping()), "a call after the restart");
                        Assert.Greater(client.Metrics.Created, created, "the call after the restart used a new connection");
                    }
                }
            }
            finally
            {
                server.Dispose();
            }
        }

        [TestCase(false), TestCase(true)]
        public async Task FaultServerRestarted(bool unix)
        {
            var server = TestServer.Start();
            try
            {
                var options = unix ? server.UnixOptions() : server.TcpOptions();
                options.ReadTimeout = TimeSpan.FromMilliseconds(500);
                using (var client = new BlinkClient(options))
                {
                    await client.SetAsync("k", "before");
                    server.Kill();
                    long attemptsBefore = client.Metrics.ConnectAttempts;
                    var outage = Stopwatch.StartNew();
                    int calls = 0;
                    while (outage.ElapsedMilliseconds < 1000)
                    {
                        var call = Stopwatch.StartNew();
                        await Expect.Throws<BlinkConnectionException>(() => client.GetStringAsync("k"), "a call while the server is down");
                        Assert.Less(call.ElapsedMilliseconds, 2000, "a call while the server is down");
                        calls++;
                        await Task.Delay(10);
                    }
                    long attempts = client.Metrics.ConnectAttempts - attemptsBefore;
                    Assert.Less(attempts, 20, $"{attempts} connect attempts over a one-second outage ({calls} calls): no backoff");

                    using (TestServer.Start(tcp: server.TcpAddress, directory: server.Directory))
                    {
                        Eventually.True(() => Succeeds(() => client.Set("k", "after")), "a call on the restarted server");
                        Assert.AreEqual("after", await client.GetStringAsync("k"));
                    }
                }
            }
            finally
            {
                server.Dispose();
            }
        }

        [Test]
        public async Task FaultAcceptsAndNeverAnswers()
        {
            FakePeer hanging = null;
            hanging = new FakePeer((_, stream) => hanging.AwaitClientClose(stream));
            using (hanging)
            {
                var options = hanging.Options();
                options.ReadTimeout = TimeSpan.FromMilliseconds(200);
                var clock = Stopwatch.StartNew();
                await Expect.Throws<BlinkTimeoutException>(() => BlinkConnection.ConnectAsync(options), "HELLO to a peer that never answers");
                Assert.That(clock.ElapsedMilliseconds, Is.InRange(200, 2000));
                hanging.WaitClientCloses(1);

                using (var client = new BlinkClient(options))
                {
                    clock.Restart();
                    await Expect.Throws<BlinkTimeoutException>(() => client.PingAsync(), "a pooled call");
                    Assert.That(clock.ElapsedMilliseconds, Is.InRange(200, 2000));
                    hanging.WaitClientCloses(2);
                    Assert.AreEqual(0, client.Metrics.Open, "the timed-out connection was kept");
                }
            }
        }

        [TestCase(new byte[] { 0, 0, 0, 0 }, TestName = "FaultMalformedReply(zero length)")]
        [TestCase(new byte[] { 0x2d, 0x45, 0x52, 0x52, 0x0d, 0x0a }, TestName = "FaultMalformedReply(-ERR)")]
        public async Task FaultMalformedReply(byte[] badReply)
        {
            FakePeer peer = null;
            peer = new FakePeer((index, stream) =>
            {
                FakePeer.AnswerHello(stream);
                if (index > 0)
                {
                    peer.ServeOk(stream);
                    return;
                }
                FakePeer.ReadFrame(stream);
                stream.Write(badReply, 0, badReply.Length);
                peer.AwaitClientClose(stream);
            });
            using (peer)
            using (var client = new BlinkClient(peer.Options()))
            {
                await Expect.Throws<BlinkProtocolException>(() => client.PingAsync(), "a malformed reply");
                peer.WaitClientCloses(1);
                await client.PingAsync();
                Assert.AreEqual(2, peer.Accepts, "the next call uses a new connection");
            }
        }

        [Test]
        public async Task FaultOversizedReply()
        {
            FakePeer peer = null;
            peer = new FakePeer((_, stream) =>
            {
                FakePeer.AnswerHello(stream, maxFrameBytes: 4096);
                FakePeer.ReadFrame(stream);
                stream.Write(new byte[] { 0x00, 0x00, 0x10, 0x01 }, 0, 4); // 4097 bytes declared, none sent
                peer.AwaitClientClose(stream);
            });
            using (peer)
            {
                var options = peer.Options();
                options.ReadTimeout = TimeSpan.FromSeconds(5);
                using (var client = new BlinkClient(options))
                {
                    var clock = Stopwatch.StartNew();
                    var error = await Expect.Throws<BlinkProtocolException>(() => client.PingAsync(), "an oversized reply");
                    Assert.Less(clock.ElapsedMilliseconds, 1000, "the client waited for the body");
                    StringAssert.Contains("4097", error.Message);
                    peer.WaitClientCloses(1);
                }
            }
        }

        [Test]
        public async Task FaultTooManyConnections()
        {
            using (var server = TestServer.Start(args: new[] { "--max-connections", "1" }))
            using (var held = await BlinkConnection.ConnectAsync(server.TcpOptions()))
            {
                var error = await Expect.Throws<BlinkTooManyConnectionsException>(() => BlinkConnection.ConnectAsync(server.TcpOptions()), "a second connection");
                Assert.IsInstanceOf<BlinkServerBusyException>(error, "the retryable back-off class");
                Assert.AreEqual(BlinkStatus.ErrTooManyConnections, error.Status);
                await held.PingAsync();
            }
        }

        [Test]
        public async Task FaultWrongToken()
        {
            using (var server = TestServer.Start(token: "s3cret"))
            {
                var goodOptions = server.TcpOptions();
                goodOptions.Token = Encoding.UTF8.GetBytes("s3cret");
                using (var good = await BlinkConnection.ConnectAsync(goodOptions))
                {
                    ulong before = (await good.StatsAsync())["connections_total"];
                    var badOptions = server.TcpOptions();
                    badOptions.Token = Encoding.UTF8.GetBytes("wrong");
                    await Expect.Throws<BlinkAuthFailedException>(() => BlinkConnection.ConnectAsync(badOptions), "a connection with a wrong token");
                    const int pooledCalls = 5;
                    using (var bad = new BlinkClient(badOptions))
                    {
                        for (int i = 0; i < pooledCalls; i++)
                            await Expect.Throws<BlinkAuthFailedException>(() => bad.PingAsync(), "a pooled call with a wrong token");
                        await Task.Delay(300); // room for a reconnect loop to show itself
                    }
                    ulong grew = (await good.StatsAsync())["connections_total"] - before;
                    Assert.LessOrEqual(grew, 1 + pooledCalls, "connections_total: a reconnect loop");
                }
            }
        }

        [Test]
        public async Task FaultLimitsEnforcedLocally()
        {
            using (var server = TestServer.Start(args: new[] { "--max-frame-bytes", "4096", "--max-key-bytes", "4", "--max-value-bytes", "8" }))
            using (var connection = await BlinkConnection.ConnectAsync(server.TcpOptions()))
            {
                Assert.AreEqual(4u, connection.Limits.MaxKeyBytes);
                ulong bytesIn = (await connection.StatsAsync())["bytes_in"];
                var key5 = Encoding.UTF8.GetBytes("kkkkk");
                Assert.IsTrue((await Expect.Throws<BlinkKeyTooLargeException>(() => connection.SetAsync(key5, new byte[1]), "SET, 5-byte key")).IsLocal);
                Assert.IsTrue((await Expect.Throws<BlinkKeyTooLargeException>(() => connection.GetAsync(key5), "GET, 5-byte key")).IsLocal);
                Assert.IsTrue(Expect.Throws<BlinkKeyTooLargeException>(() => connection.Get(key5), "blocking GET, 5-byte key").IsLocal);
                Assert.IsTrue((await Expect.Throws<BlinkValueTooLargeException>(() => connection.SetAsync(Key, new byte[9]), "SET, 9-byte value")).IsLocal);
                ulong grew = (await connection.StatsAsync())["bytes_in"] - bytesIn;
                Assert.AreEqual(5ul, grew, "only the second STATS frame (5 bytes) reached the server");
                await connection.SetAsync(Key, new byte[8]);
                Assert.AreEqual(8, (await connection.GetAsync(Key)).Length);
            }
        }

        [Test]
        public async Task FaultTimedOutCallKeepsItsReply()
        {
            using (var server = TestServer.Start())
            {
                var options = server.TcpOptions();
                options.Pool.MaxSize = 1; // the call after the cancelled one runs on the same connection
                using (var client = new BlinkClient(options))
                {
                    await client.SetAsync("a", "value of a");
                    await client.SetAsync("b", "value of b");
                    server.Pause();
                    using (var cancel = new CancellationTokenSource(200))
                        await Expect.Throws<OperationCanceledException>(() => client.GetStringAsync("a", cancel.Token), "GET a while the server is stopped");
                    server.Resume();
                    Assert.AreEqual("value of b", await client.GetStringAsync("b"), "the late reply of GET a went to GET b");
                    Assert.AreEqual(1, client.Metrics.Created, "the cancelled call kept its slot on the same connection");
                }

                // The read timeout instead closes the connection; a new one serves the next call.
                options.ReadTimeout = TimeSpan.FromMilliseconds(300);
                using (var client = new BlinkClient(options))
                {
                    await client.PingAsync();
                    server.Pause();
                    Expect.Throws<BlinkTimeoutException>(() => client.GetString("a"), "a blocking GET a while the server is stopped");
                    server.Resume();
                    Assert.AreEqual("value of b", client.GetString("b"));
                    Assert.AreEqual(2, client.Metrics.Created, "the timed-out connection was replaced");
                }
            }
        }

        [Test]
        public async Task FaultIdleConnectionClosedByServer()
        {
            using (var server = TestServer.Start(args: new[] { "--idle-timeout-ms", "200" }))
            {
                var options = server.TcpOptions();
                options.Pool.MinIdle = 0;
                using (var client = new BlinkClient(options))
                {
                    await client.SetAsync("k", "v");
                    Eventually.True(() => server.Stat("closed_idle") >= 1, "the server closing the idle connection");
                    Assert.AreEqual("v", await client.GetStringAsync("k"));
                    Assert.AreEqual(2, client.Metrics.Created, "the dead connection was replaced");
                }
            }
        }

        [Test]
        public async Task FaultPoolExhaustion()
        {
            using (var server = TestServer.Start())
            {
                var options = server.TcpOptions();
                options.ReadTimeout = TimeSpan.FromSeconds(5);
                options.Pool = new BlinkPoolOptions { MaxSize = 2, MinIdle = 0, BorrowTimeout = TimeSpan.FromMilliseconds(200) };
                using (var client = new BlinkClient(options))
                {
                    var first = await client.RentAsync();
                    var second = client.Rent();
                    var clock = Stopwatch.StartNew();
                    var error = await Expect.Throws<BlinkPoolTimeoutException>(() => client.RentAsync(), "a third borrow");
                    Assert.That(clock.ElapsedMilliseconds, Is.InRange(190, 2000));
                    StringAssert.Contains("all 2", error.Message);
                    clock.Restart();
                    Expect.Throws<BlinkPoolTimeoutException>(() => client.Ping(), "a blocking call");
                    Assert.GreaterOrEqual(clock.ElapsedMilliseconds, 190);
                    Assert.AreEqual(2, client.Metrics.BorrowTimeouts);
                    Assert.AreEqual(2, client.Metrics.Active);

                    first.Dispose();
                    clock.Restart();
                    using (var third = await client.RentAsync())
                    {
                        Assert.Less(clock.ElapsedMilliseconds, 100, "a returned connection is lent at once");
                        await third.PingAsync();
                    }
                    second.Dispose();
                    Assert.AreEqual(0, client.Metrics.Active);
                }
            }
        }

        [Test]
        public void FaultSharedBy64Workers()
        {
            using (var server = TestServer.Start())
            using (var client = new BlinkClient(server.TcpOptions()))
            {
                Assert.AreEqual(0, Workers.Run(client, workers: 64, operations: 200), "crossed or lost replies");
            }
        }

        [Test]
        public async Task FaultLargePipelineDoesNotDeadlock()
        {
            using (var server = TestServer.Start())
            using (var connection = await BlinkConnection.ConnectAsync(server.TcpOptions()))
            {
                var value = new byte[16 * 1024];
                new Random(7).NextBytes(value);
                await connection.SetAsync(Key, value);
                var batch = connection.CreateBatch();
                var gets = Enumerable.Range(0, 20000).Select(_ => batch.GetAsync(Key)).ToList();
                Task run = batch.ExecuteAsync();
                for (int i = 0; i < gets.Count; i++)
                {
                    Expect.SameBytes(value, await gets[i], $"GET {i}");
                    gets[i] = null; // 320 MiB of replies need not stay alive
                }
                await run;
            }
        }

        [Test]
        public async Task FaultVersion1Server()
        {
            var hellos = new System.Collections.Concurrent.ConcurrentQueue<byte[]>();
            var recorded = new System.Collections.Concurrent.ConcurrentQueue<byte[]>();
            var peer = new FakePeer((_, stream) =>
            {
                hellos.Enqueue(FakePeer.ReadFrame(stream));
                byte[] hello = FakePeer.HelloReply(0x101000); // 01 00 00101000 00000400 00100000
                stream.Write(hello, 0, hello.Length);
                while (true)
                {
                    byte[] frame = FakePeer.ReadFrame(stream);
                    if (frame[0] != (byte)Opcode.Get)
                        recorded.Enqueue(frame);
                    byte status = frame[0] == (byte)Opcode.Get ? (byte)BlinkStatus.NotFound : (byte)BlinkStatus.ErrUnknownCommand;
                    stream.Write(new byte[] { 0, 0, 0, 1, status }, 0, 5);
                }
            });
            using (peer)
            using (var connection = await BlinkConnection.ConnectAsync(peer.Options()))
            using (var client = new BlinkClient(peer.Options()))
            {
                Assert.AreEqual(1, connection.Version, "the version the server answered");
                Assert.IsNull(await connection.GetAsync(Key));
                var calls = new List<Func<Task>>
                {
                    () => connection.AddAsync(Key, Key),
                    () => connection.ReplaceAsync(Key, Key, 1000ul),
                    () => connection.IncrAsync(Key),
                    () => connection.AppendAsync(Key, Key),
                    () => connection.FlushAsync(),
                    () => connection.ScanAsync(0, 10, new byte[0]),
                    () => Task.Run(() => connection.Incr(Key, 1)),
                    () => Task.Run(() => connection.ScanKeys("").ToList()),
                    async () => await connection.ScanKeysAsync(new byte[0]).GetAsyncEnumerator().MoveNextAsync(),
                    () => client.AddAsync("k", "v"),
                };
                foreach (var call in calls)
                {
                    var refused = await Expect.Throws<BlinkUnknownCommandException>(call, "a version-2 call on a version-1 connection");
                    Assert.IsTrue(refused.IsLocal, $"refused without sending: {refused.Message}");
                    Assert.IsTrue(connection.IsConnected);
                }
                var batch = connection.CreateBatch();
                Task<long> incr = batch.IncrAsync(Key);
                Task<byte[]> get = batch.GetAsync(Key);
                await Task.WhenAny(batch.ExecuteAsync());
                Assert.IsTrue((await Expect.Throws<BlinkUnknownCommandException>(() => incr, "INCR in a batch")).IsLocal);
                Assert.IsNull(await get, "the rest of the batch runs");
                Assert.IsNull(await connection.GetAsync(Key), "the connection stays usable");
                Assert.IsNull(await client.GetStringAsync("k"));
                Assert.IsEmpty(recorded, "frames the fake received besides HELLO and GET");
                Assert.AreEqual(2, hellos.Count, "the connection's and the pool's");
                foreach (byte[] hello in hellos)
                    CollectionAssert.AreEqual(new byte[] { (byte)Opcode.Hello, 2 }, hello, "the client asks for version 2");
            }
        }

        static bool Succeeds(Action call)
        {
            try
            {
                call();
                return true;
            }
            catch (BlinkException)
            {
                return false;
            }
        }
    }
}
