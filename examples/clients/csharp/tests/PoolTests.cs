// The pool under load and through outages: many threads with no crossed replies, a server
// killed and restarted mid-load without leaking connections, warm connections, validation,
// lifetime, leak reports and metrics.
using System;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NUnit.Framework;

namespace BlinkStore.Client.Tests
{
    [TestFixture, Timeout(180000)]
    public class PoolTests
    {
        [Test]
        public void SixtyFourThreadsTenThousandOperationsThroughAPoolOfEight()
        {
            using (var server = TestServer.Start())
            {
                var options = server.TcpOptions();
                options.Pool = new BlinkPoolOptions { MaxSize = 8, MinIdle = 8, BorrowTimeout = TimeSpan.FromSeconds(10) };
                using (var client = new BlinkClient(options))
                {
                    var clock = Stopwatch.StartNew();
                    Assert.AreEqual(0, Workers.Run(client, workers: 64, operations: 10000), "crossed or lost replies");
                    var metrics = client.Metrics;
                    Console.WriteLine($"64 x 10,000 operations in {clock.ElapsedMilliseconds} ms; {metrics}");
                    Assert.LessOrEqual(metrics.Created, 8, "never more than MaxSize connections");
                    Assert.AreEqual(0, metrics.BorrowTimeouts);
                    Assert.GreaterOrEqual(metrics.Borrows, 64 * 10000);
                    Assert.AreEqual(0, metrics.Active);
                    Assert.AreEqual(0, metrics.Waiting);
                    Assert.AreEqual(9ul, server.Stat("connections_current"), "8 pooled connections and the one reading STATS");
                }
            }
        }

        [Test]
        public void ServerKilledAndRestartedDuringTheLoad()
        {
            var server = TestServer.Start();
            try
            {
                var options = server.TcpOptions();
                options.ReadTimeout = TimeSpan.FromMilliseconds(500);
                options.Pool = new BlinkPoolOptions { MaxSize = 8, MinIdle = 2, BorrowTimeout = TimeSpan.FromSeconds(5), MaintenanceInterval = TimeSpan.FromMilliseconds(100) };
                using (var client = new BlinkClient(options))
                {
                    int outageErrors = 0;
                    Func<Exception, bool> outage = e =>
                    {
                        if (!(e is BlinkConnectionException))
                            return false;
                        Interlocked.Increment(ref outageErrors);
                        return true;
                    };
                    var load = Task.Run(() => Workers.Run(client, workers: 16, operations: 3000, tolerated: outage));
                    Eventually.True(() => client.Metrics.Borrows > 2000, "the load to start");
                    server.Kill();
                    Eventually.True(() => Volatile.Read(ref outageErrors) > 0, "callers to get errors while the server is down");
                    using (var restarted = TestServer.Start(tcp: server.TcpAddress, directory: server.Directory))
                    {
                        Assert.IsTrue(load.Wait(120000), "the load finishes after the restart");
                        Assert.AreEqual(0, load.Result, "crossed or lost replies");
                        var metrics = client.Metrics;
                        Console.WriteLine($"{outageErrors} errors during the outage; {metrics}");
                        Assert.LessOrEqual(metrics.Open, 8);
                        Eventually.True(() => client.Metrics.Idle >= 2, "the pool to refill its warm connections");
                        ulong open = (ulong)client.Metrics.Open;
                        Assert.AreEqual(open + 1, restarted.Stat("connections_current"), "no leaked connections: the pool's and the STATS reader's");
                    }
                }
            }
            finally
            {
                server.Dispose();
            }
        }

        [Test]
        public void WarmConnectionsAreOpenedAndKept()
        {
            using (var server = TestServer.Start())
            {
                var options = server.TcpOptions();
                options.Pool = new BlinkPoolOptions { MaxSize = 4, MinIdle = 3, MaintenanceInterval = TimeSpan.FromMilliseconds(50) };
                using (var client = new BlinkClient(options))
                {
                    Eventually.True(() => client.Metrics.Idle == 3, "3 warm connections");
                    Assert.AreEqual(4ul, server.Stat("connections_current"));
                    Assert.AreEqual(3, client.Metrics.Created);
                    client.Ping();
                    Assert.AreEqual(3, client.Metrics.Created, "a call uses a warm connection");
                }
                Eventually.True(() => server.Stat("connections_current") == 1, "dispose to close every connection");
            }
        }

        [Test]
        public void BrokenConnectionsAreEvictedAndIdleOnesPingedAfterValidateAfterIdle()
        {
            using (var server = TestServer.Start())
            {
                var options = server.TcpOptions();
                options.Pool = new BlinkPoolOptions { MaxSize = 2, MinIdle = 0, ValidateAfterIdle = TimeSpan.FromMilliseconds(50) };
                using (var client = new BlinkClient(options))
                {
                    client.Ping();
                    Thread.Sleep(60); // idle past ValidateAfterIdle: the next borrow PINGs first
                    ulong pings = server.Stat("cmd_ping");
                    client.Ping();
                    Assert.AreEqual(pings + 2, server.Stat("cmd_ping"), "a validation PING and the call's");
                    using (var lease = client.Rent())
                    {
                        Assert.IsTrue(lease.IsConnected);
                    }
                    Assert.AreEqual(1, client.Metrics.Created);
                }
            }
        }

        [Test]
        public void ConnectionsPastTheirLifetimeAreReplaced()
        {
            using (var server = TestServer.Start())
            {
                var options = server.TcpOptions();
                options.Pool = new BlinkPoolOptions { MaxSize = 1, MinIdle = 0, MaxLifetime = TimeSpan.FromMilliseconds(100) };
                using (var client = new BlinkClient(options))
                {
                    client.Ping();
                    Eventually.True(() => client.Metrics.Destroyed == 1, "the maintenance loop to retire the old connection", 5000);
                    client.Ping();
                    Assert.AreEqual(2, client.Metrics.Created);
                }
            }
        }

        [Test]
        public void LeakDetectionReportsTheBorrowersStack()
        {
            var listener = new CapturingListener();
            Trace.Listeners.Add(listener);
            try
            {
                using (var server = TestServer.Start())
                {
                    var options = server.TcpOptions();
                    options.Pool = new BlinkPoolOptions
                    {
                        MinIdle = 0,
                        LeakDetectionThreshold = TimeSpan.FromMilliseconds(100),
                        MaintenanceInterval = TimeSpan.FromMilliseconds(50),
                    };
                    using (var client = new BlinkClient(options))
                    using (BorrowAndForget(client))
                    {
                        Eventually.True(() => listener.Text.Contains("leak detection threshold"), "a leak report");
                        StringAssert.Contains(nameof(BorrowAndForget), listener.Text, "the report carries the borrower's stack");
                    }
                }
            }
            finally
            {
                Trace.Listeners.Remove(listener);
            }
        }

        [Test]
        public async Task MetricsCountWaitsAndBorrowTime()
        {
            using (var server = TestServer.Start())
            {
                var options = server.TcpOptions();
                options.Pool = new BlinkPoolOptions { MaxSize = 1, MinIdle = 0, BorrowTimeout = TimeSpan.FromSeconds(5) };
                using (var client = new BlinkClient(options))
                {
                    var held = client.Rent();
                    Task waiter = client.PingAsync();
                    Eventually.True(() => client.Metrics.Waiting == 1, "one waiting borrower");
                    Assert.AreEqual(1, client.Metrics.Active);
                    await Task.Delay(100);
                    held.Dispose();
                    await waiter;
                    var metrics = client.Metrics;
                    Assert.AreEqual(0, metrics.Waiting);
                    Assert.AreEqual(2, metrics.Borrows);
                    Assert.GreaterOrEqual(metrics.BorrowWaitMax.TotalMilliseconds, 90, "the waiter's borrow time");
                    Assert.AreEqual(1, metrics.Created);
                    Assert.AreEqual(1, metrics.ConnectAttempts);
                }
            }
        }

        static BlinkLease BorrowAndForget(BlinkClient client) => client.Rent();

        sealed class CapturingListener : TraceListener
        {
            readonly System.Text.StringBuilder text = new System.Text.StringBuilder();

            public string Text
            {
                get { lock (text) return text.ToString(); }
            }

            public override void Write(string message)
            {
                lock (text)
                    text.Append(message);
            }

            public override void WriteLine(string message) => Write(message + "\n");
        }
    }
}
