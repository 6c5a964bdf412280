// The README's quickstart, runnable: `mono Quickstart.exe 127.0.0.1:25465` or `unix:/path/blink.sock`.
// test.sh runs it against a real server over TCP and the Unix socket.
using System;
using System.Threading.Tasks;
using BlinkStore.Client;

static class Quickstart
{
    static async Task<int> Run(string address)
    {
        var options = new BlinkOptions
        {
            Endpoint = BlinkOptions.ParseEndpoint(address),
            Token = null, // or Encoding.UTF8.GetBytes(token) when the server has one
            Pool = new BlinkPoolOptions { MaxSize = 8, MinIdle = 1, BorrowTimeout = TimeSpan.FromSeconds(1) },
        };
        // One client per server, shared by the whole application: it is a thread-safe pool.
        using (var client = new BlinkClient(options))
        {
            await client.SetAsync("greeting", "hello, blink");
            await client.SetAsync("session:42", "alice", TimeSpan.FromMinutes(5));

            string greeting = await client.GetStringAsync("greeting");     // "hello, blink"
            string missing = await client.GetStringAsync("no such key");   // null: not an error
            KeyTtl? ttl = await client.TtlAsync("session:42");             // about 300,000 ms left
            bool removed = await client.DelAsync("greeting");              // true

            // Several commands in one round trip.
            var batch = client.CreateBatch();
            Task<byte[]> a = batch.GetAsync(System.Text.Encoding.UTF8.GetBytes("session:42"));
            Task<bool> b = batch.DelAsync(System.Text.Encoding.UTF8.GetBytes("greeting"));
            await batch.ExecuteAsync();

            Console.WriteLine($"greeting={greeting} missing={missing ?? "(null)"} ttl={ttl} removed={removed} " +
                              $"batch: {System.Text.Encoding.UTF8.GetString(await a)}, {await b}");
            Console.WriteLine($"items={(await client.StatsAsync())["items"]} pool: {client.Metrics}");
            bool ok = greeting == "hello, blink" && missing == null && ttl?.HasTtl == true && removed && !await b;
            return ok ? 0 : 1;
        }
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
