// Assertions NUnit 2.6 lacks: an awaited call that must throw a given type.
using System;
using System.Threading.Tasks;
using NUnit.Framework;

namespace BlinkStore.Client.Tests
{
    static class Expect
    {
        /// <summary>Awaits <paramref name="call"/> and returns its exception, failing unless it is a <typeparamref name="T"/>.</summary>
        public static async Task<T> Throws<T>(Func<Task> call, string what = null) where T : Exception
        {
            try
            {
                await call();
            }
            catch (T expected)
            {
                return expected;
            }
            catch (Exception other)
            {
                Assert.Fail($"{what}: threw {other.GetType().Name} ({other.Message}), want {typeof(T).Name}");
            }
            Assert.Fail($"{what}: returned, want {typeof(T).Name}");
            return null;
        }

        /// <summary>Fails unless the arrays are equal (NUnit's collection compare boxes every byte: too slow for MiBs).</summary>
        public static void SameBytes(byte[] want, byte[] got, string what)
        {
            Assert.IsNotNull(got, what);
            Assert.AreEqual(want.Length, got.Length, what);
            for (int i = 0; i < want.Length; i++)
            {
                if (want[i] != got[i])
                    Assert.Fail($"{what}: byte {i} differs");
            }
        }

        /// <summary>The blocking form of <see cref="Throws{T}(Func{Task}, string)"/>.</summary>
        public static T Throws<T>(Action call, string what = null) where T : Exception =>
            Throws<T>(() => { call(); return Task.CompletedTask; }, what).GetAwaiter().GetResult();
    }
}
