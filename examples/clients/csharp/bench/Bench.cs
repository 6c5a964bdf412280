// The benchmark bench.sh runs: pooled throughput at 1, 8 and 64 threads (100-byte values,
// GET:SET 90:10) with p99 latency, pipelined GETs on one connection, and the pool's own
// borrow/return cost. A measurement, not a test: nothing here asserts a number.
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Text;
using System.Threading;
using BlinkStore.Client;

static class Bench
{
    const int Keys = 1000;
    const int ValueBytes = 100;
    const int BatchSize = 100;

    static int Main(string[] args)
    {
        if (args.Length < 1)
        {
            Console.Error.WriteLine("usage: Bench.exe host:port|unix:/path [seconds per row]");
            return 2;
        }
        var options = new BlinkOptions { Endpoint = BlinkOptions.ParseEndpoint(args[0]) };
        double seconds = args.Length > 1 ? double.Parse(args[1]) : 3;
        options.Pool = new BlinkPoolOptions { MaxSize = 8, MinIdle = 8, BorrowTimeout = TimeSpan.FromSeconds(10) };
        byte[][] keys = Enumerable.Range(0, Keys).Select(i => Encoding.ASCII.GetBytes($"bench:{i}")).ToArray();
        var value = new byte[ValueBytes];
        using (var client = new BlinkClient(options))
        {
            foreach (var key in keys)
                client.Set(key, value);
            Console.WriteLine("| workload | threads | ops/s | p99 latency (µs) |");
            Console.WriteLine("|---|---:|---:|---:|");
            foreach (int threads in new[] { 1, 8, 64 })
                Row($"pool of 8, GET:SET 90:10, {ValueBytes}-byte values", threads,
                    Run(threads, seconds, (random, i) => Mixed(client, keys, value, random, i)));
            using (var connection = BlinkConnection.Connect(options))
            {
                Row($"one connection, pipelined GETs (batches of {BatchSize})", 1,
                    Run(1, seconds, (random, i) => Pipelined(connection, keys, random)), BatchSize);
            }
            Console.WriteLine();
            foreach (int threads in new[] { 1, 8 })
                BorrowReturn(client, threads, seconds);
        }
        return 0;
    }

    static void Mixed(BlinkClient client, byte[][] keys, byte[] value, Random random, long i)
    {
        byte[] key = keys[random.Next(keys.Length)];
        if (i % 10 == 0)
            client.Set(key, value);
        else if (client.Get(key) == null)
            throw new InvalidOperationException("a bench key is missing");
    }

    static void Pipelined(BlinkConnection connection, byte[][] keys, Random random)
    {
        var batch = connection.CreateBatch();
        for (int j = 0; j < BatchSize; j++)
            batch.GetAsync(keys[random.Next(keys.Length)]);
        batch.Execute();
    }

    /// <summary>Runs <paramref name="op"/> on each thread for the duration; returns every latency sample in ticks and the wall time.</summary>
    static (List<long> samples, double elapsedSeconds) Run(int threads, double seconds, Action<Random, long> op)
    {
        var perThread = new List<long>[threads];
        var deadline = Stopwatch.GetTimestamp() + (long)(seconds * Stopwatch.Frequency);
        var clock = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
        {
            var random = new Random(t);
            var samples = new List<long>(1 << 16);
            for (long i = 0; ; i++)
            {
                long start = Stopwatch.GetTimestamp();
                if (start >= deadline)
                    break;
                op(random, i);
                samples.Add(Stopwatch.GetTimestamp() - start);
            }
            perThread[t] = samples;
        })).ToList();
        workers.ForEach(w => w.Start());
        workers.ForEach(w => w.Join());
        return (perThread.SelectMany(s => s).ToList(), clock.Elapsed.TotalSeconds);
    }

    static void Row(string workload, int threads, (List<long> samples, double elapsedSeconds) run, int opsPerSample = 1)
    {
        run.samples.Sort();
        double p99Us = run.samples[(int)(run.samples.Count * 0.99)] * 1e6 / Stopwatch.Frequency;
        double opsPerSecond = run.samples.Count * (double)opsPerSample / run.elapsedSeconds;
        string p99 = opsPerSample == 1 ? $"{p99Us:N0}" : $"{p99Us:N0} per batch";
        Console.WriteLine($"| {workload} | {threads} | {opsPerSecond:N0} | {p99} |");
    }

    /// <summary>The pool's own cost: borrow and return with no command, <paramref name="threads"/> threads over 8 connections.</summary>
    static void BorrowReturn(BlinkClient client, int threads, double seconds)
    {
        long total = 0;
        var deadline = Stopwatch.GetTimestamp() + (long)(seconds * Stopwatch.Frequency);
        var clock = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, threads).Select(_ => new Thread(() =>
        {
            long n = 0;
            while (Stopwatch.GetTimestamp() < deadline)
            {
                for (int i = 0; i < 1000; i++)
                    client.Rent().Dispose();
                n += 1000;
            }
            Interlocked.Add(ref total, n);
        })).ToList();
        workers.ForEach(w => w.Start());
        workers.ForEach(w => w.Join());
        double perPairUs = clock.Elapsed.TotalSeconds * threads * 1e6 / total;
        Console.WriteLine($"pool borrow + return, {threads} thread(s) over 8 connections: {perPairUs:N2} µs per pair in each thread ({total / clock.Elapsed.TotalSeconds:N0} pairs/s)");
    }
}
