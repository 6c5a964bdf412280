// The README's quickstart, runnable: `mono Quickstart.exe 127.0.0.1:25465` or `unix:/path/blink.sock`.
// test.sh runs it against a real server over TCP and the Unix socket; the tests check that every
// section between `// snippet:NAME` and `// end` is on the README page as it is here.
using System;
using System.Text;
using System.Threading.Tasks;
using BlinkStore.Client;

static class Quickstart
{
    static async Task<int> Run(string address)
    {
        // snippet:connect
        var options = new BlinkOptions
        {
            Endpoint = BlinkOptions.ParseEndpoint(address), // "127.0.0.1:25465" or "unix:/run/blink/blink.sock"
            Token = null, // or Encoding.UTF8.GetBytes(token) when the server has one: AUTH is pipelined behind HELLO
            Pool = new BlinkPoolOptions { MaxSize = 8, MinIdle = 1, BorrowTimeout = TimeSpan.FromSeconds(1) },
        };
        // One client per server, shared by the whole application: it is a thread-safe pool.
        using (var client = new BlinkClient(options))
        {
            // end
            // snippet:basics
            await client.SetAsync("greeting", "hello, blink");
            await client.SetAsync("session:42", "alice", TimeSpan.FromMinutes(5));

            string greeting = await client.GetStringAsync("greeting");     // "hello, blink"
            string missing = await client.GetStringAsync("no such key");   // null: not an error
            KeyTtl? ttl = await client.TtlAsync("session:42");             // about 300,000 ms left; null when missing
            bool removed = await client.DelAsync("greeting");              // false when there was none

            var batch = client.CreateBatch();                              // several commands, one round trip
            Task<byte[]> a = batch.GetAsync(Encoding.UTF8.GetBytes("session:42"));
            Task<bool> b = batch.DelAsync(Encoding.UTF8.GetBytes("greeting"));
            await batch.ExecuteAsync();
            // end

            Console.WriteLine($"greeting={greeting} missing={missing ?? "(null)"} ttl={ttl} removed={removed} " +
                              $"batch: {Encoding.UTF8.GetString(await a)}, {await b}");
            bool ok = greeting == "hello, blink" && missing == null && ttl?.HasTtl == true && removed && !await b;
            ok &= await Version2(client);
            Console.WriteLine($"items={(await client.StatsAsync())["items"]} pool: {client.Metrics}");
            return ok ? 0 : 1;
        }
    }

    static async Task<bool> Version2(BlinkClient client)
    {
        // snippet:version-2
        if (await client.AddAsync("lock:report", "worker-1", TimeSpan.FromSeconds(10))) // only if absent
        {
            Console.WriteLine("lock taken");
            await client.DelAsync("lock:report");
        }
        bool replaced = await client.ReplaceAsync("no such key", "v"); // only if present: false
        long visits = await client.IncrAsync("visits");                 // a missing key counts from 0
        long back = await client.IncrAsync("visits", -1);
        long logLength = await client.AppendAsync("log", "started;");   // the value's new length
        try
        {
            await client.IncrAsync("session:42");                       // "alice" is no integer
        }
        catch (BlinkNotIntegerException e)
        {
            Console.WriteLine($"not an integer: {e.Status}");
        }
        var keys = client.ScanKeysAsync("session:").GetAsyncEnumerator(); // every key under the prefix, once
        while (await keys.MoveNextAsync())                              // (C# 8: await foreach)
            Console.WriteLine($"scanned {keys.Current}");
        foreach (string key in client.ScanKeys("lock:"))                // the blocking walk: none left
            Console.WriteLine($"still locked: {key}");
        // end
        Console.WriteLine($"replaced={replaced} visits={visits}, then {back} log={logLength}");
        return !replaced && visits == 1 && back == 0 && logLength >= 8;
    }

    static int Main(string[] args)
    {
        try
        {
            return Run(args.Length > 0 ? args[0] : "127.0.0.1:25465").GetAwaiter().GetResult();
        }
        catch (BlinkException e)
        {
            Console.Error.WriteLine($"blink: {e.GetType().Name}: {e.Message}");
            return 1;
        }
    }
}
