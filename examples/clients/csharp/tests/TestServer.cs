// A real blink-store per test: started on port 0 and a temp Unix socket, ready when it prints
// its "ready ..." line, stopped (or killed, paused, resumed) by signal.
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using BlinkStore.Client;
using Mono.Unix.Native;
using NUnit.Framework;

namespace BlinkStore.Client.Tests
{
    /// <summary>One blink-store process and its addresses.</summary>
    sealed class TestServer : IDisposable
    {
        readonly Process process;
        readonly bool ownsDirectory;

        TestServer(Process process, string tcp, string unixSocket, string directory, bool ownsDirectory)
        {
            this.process = process;
            this.ownsDirectory = ownsDirectory;
            TcpAddress = tcp;
            UnixSocket = unixSocket;
            Directory = directory;
        }

        public string TcpAddress { get; }
        public string UnixSocket { get; }
        public string Directory { get; }

        /// <summary>
        /// Starts a server with <paramref name="args"/>; a token goes in BLINK_AUTH_TOKEN. A server given
        /// another's <paramref name="directory"/> (a restart) reuses its socket path; the first one removes it.
        /// </summary>
        public static TestServer Start(string token = null, string tcp = "127.0.0.1:0", string directory = null, params string[] args)
        {
            bool ownsDirectory = directory == null;
            directory = directory ?? Path.Combine(Path.GetTempPath(), "blink-cs-" + Guid.NewGuid().ToString("N").Substring(0, 12));
            System.IO.Directory.CreateDirectory(directory);
            string socket = Path.Combine(directory, "blink.sock");
            var info = new ProcessStartInfo(Binary)
            {
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                Arguments = string.Join(" ", new List<string> { "--tcp", tcp, "--unix-socket", socket, "--log-level", "warn" }.Concat(args)),
            };
            info.EnvironmentVariables.Remove("BLINK_AUTH_TOKEN");
            if (token != null)
                info.EnvironmentVariables["BLINK_AUTH_TOKEN"] = token;
            var process = Process.Start(info);
            process.ErrorDataReceived += (_, e) => { };
            process.BeginErrorReadLine();
            Task<string> ready = process.StandardOutput.ReadLineAsync();
            if (!ready.Wait(TimeSpan.FromSeconds(20)) || ready.Result == null || !ready.Result.StartsWith("ready tcp "))
            {
                process.Kill();
                throw new InvalidOperationException($"blink-store did not print its ready line: {(ready.IsCompleted ? ready.Result : "(timed out)")}");
            }
            // "ready tcp 127.0.0.1:41234, unix /tmp/x/blink.sock"
            string[] parts = ready.Result.Substring("ready tcp ".Length).Split(new[] { ", unix " }, StringSplitOptions.None);
            return new TestServer(process, parts[0], parts[1], directory, ownsDirectory);
        }

        /// <summary>The binary: $BLINK_STORE_BIN, else target/release/blink-store at the repository root.</summary>
        public static string Binary =>
            Environment.GetEnvironmentVariable("BLINK_STORE_BIN") ?? Path.Combine(Vectors.RepoRoot, "target", "release", "blink-store");

        /// <summary>Options for this server's TCP address.</summary>
        public BlinkOptions TcpOptions() => new BlinkOptions { Endpoint = BlinkOptions.ParseEndpoint(TcpAddress) };

        /// <summary>Options for this server's Unix socket.</summary>
        public BlinkOptions UnixOptions() => new BlinkOptions { Endpoint = BlinkOptions.ParseEndpoint("unix:" + UnixSocket) };

        /// <summary>One STATS counter, read on a connection of its own.</summary>
        public ulong Stat(string name, string token = null)
        {
            var options = TcpOptions();
            options.Token = token == null ? null : System.Text.Encoding.UTF8.GetBytes(token);
            using (var connection = BlinkConnection.Connect(options))
                return connection.Stats()[name];
        }

        /// <summary>SIGKILL, then waits for the exit (the socket file stays, as after a crash).</summary>
        public void Kill()
        {
            if (!process.HasExited)
                process.Kill();
            process.WaitForExit();
        }

        public void Pause() => Signal(Signum.SIGSTOP);

        public void Resume() => Signal(Signum.SIGCONT);

        /// <summary>SIGTERM, then waits for the exit.</summary>
        public void Dispose()
        {
            if (!process.HasExited)
            {
                Signal(Signum.SIGCONT);
                Signal(Signum.SIGTERM);
                if (!process.WaitForExit(10000))
                    process.Kill();
            }
            process.WaitForExit();
            if (ownsDirectory && System.IO.Directory.Exists(Directory))
                System.IO.Directory.Delete(Directory, recursive: true);
        }

        void Signal(Signum signal)
        {
            if (Syscall.kill(process.Id, signal) != 0)
                throw new InvalidOperationException($"kill -{signal} {process.Id} failed");
        }
    }

    /// <summary>Waiting for conditions instead of sleeping.</summary>
    static class Eventually
    {
        public static void True(Func<bool> condition, string what, int timeoutMs = 10000)
        {
            var clock = Stopwatch.StartNew();
            while (!condition())
            {
                if (clock.ElapsedMilliseconds > timeoutMs)
                    Assert.Fail($"timed out after {timeoutMs} ms waiting for {what}");
                Thread.Sleep(5);
            }
        }
    }
}
