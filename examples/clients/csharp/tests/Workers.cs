// Many threads sharing one pooled client, each checking its own keys against its own model:
// any crossed or lost reply shows as a mismatch.
using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using BlinkStore.Client;

namespace BlinkStore.Client.Tests
{
    static class Workers
    {
        /// <summary>Runs <paramref name="workers"/> threads of <paramref name="operations"/> mixed calls; returns the mismatches.</summary>
        public static int Run(BlinkClient client, int workers, int operations, Func<Exception, bool> tolerated = null)
        {
            int mismatches = 0;
            var threads = Enumerable.Range(0, workers).Select(id => new Thread(() =>
            {
                int bad = Work(client, id, operations, tolerated ?? (_ => false));
                Interlocked.Add(ref mismatches, bad);
            })).ToList();
            threads.ForEach(t => t.Start());
            threads.ForEach(t => t.Join());
            return mismatches;
        }

        /// <summary>
        /// One worker: 10 % SET, 70 % GET, 10 % DEL, 10 % TTL over 16 keys of its own, half the calls
        /// blocking and half Task-based. A tolerated exception (a server outage) resets its model.
        /// </summary>
        static int Work(BlinkClient client, int id, int operations, Func<Exception, bool> tolerated)
        {
            var model = new Dictionary<string, string>();
            int bad = 0;
            for (int i = 0; i < operations; i++)
            {
                string key = $"w{id}:k{i % 16}";
                bool async = i % 2 == 0;
                try
                {
                    switch (i % 10)
                    {
                        case 0:
                            string value = $"w{id}:v{i}";
                            if (async)
                                client.SetAsync(key, value).GetAwaiter().GetResult();
                            else
                                client.Set(key, value);
                            model[key] = value;
                            break;
                        case 8:
                            bool removed = async ? client.DelAsync(key).GetAwaiter().GetResult() : client.Del(key);
                            if (removed != model.Remove(key))
                                bad++;
                            break;
                        case 9:
                            KeyTtl? ttl = client.TtlAsync(key).GetAwaiter().GetResult();
                            if (ttl.HasValue != model.ContainsKey(key) || (ttl.HasValue && ttl.Value.HasTtl))
                                bad++;
                            break;
                        default:
                            string got = async ? client.GetStringAsync(key).GetAwaiter().GetResult() : client.GetString(key);
                            model.TryGetValue(key, out string want);
                            if (got != want)
                                bad++;
                            break;
                    }
                }
                catch (Exception e) when (tolerated(e))
                {
                    ResetKeys(client, id, tolerated); // the failed call may or may not have run
                    model.Clear();
                }
            }
            return bad;
        }

        /// <summary>After an outage, deletes the worker's keys so its model (empty) is true again.</summary>
        static void ResetKeys(BlinkClient client, int id, Func<Exception, bool> tolerated)
        {
            while (true)
            {
                try
                {
                    for (int k = 0; k < 16; k++)
                        client.Del($"w{id}:k{k}");
                    return;
                }
                catch (Exception e) when (tolerated(e))
                {
                    Thread.Sleep(20);
                }
            }
        }
    }
}
