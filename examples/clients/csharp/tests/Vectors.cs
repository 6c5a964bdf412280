// The protocol vectors (protocol/vectors/v1.json), loaded once, with their byte-string encoding.
using System;
using System.Collections;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Web.Script.Serialization;

namespace BlinkStore.Client.Tests
{
    /// <summary>v1.json as dictionaries and arrays, and helpers to read its fields.</summary>
    static class Vectors
    {
        static readonly Lazy<Dictionary<string, object>> Root = new Lazy<Dictionary<string, object>>(Load);

        /// <summary>The repository root: the first parent of the test assembly holding protocol/vectors/v1.json.</summary>
        public static string RepoRoot
        {
            get
            {
                for (var dir = new DirectoryInfo(AppDomain.CurrentDomain.BaseDirectory); dir != null; dir = dir.Parent)
                {
                    if (File.Exists(Path.Combine(dir.FullName, "protocol", "vectors", "v1.json")))
                        return dir.FullName;
                }
                throw new FileNotFoundException("protocol/vectors/v1.json above " + AppDomain.CurrentDomain.BaseDirectory);
            }
        }

        public static IEnumerable<Dictionary<string, object>> Section(string name) =>
            ((IList)Root.Value[name]).Cast<Dictionary<string, object>>();

        public static Dictionary<string, object> Limits(string name) =>
            (Dictionary<string, object>)((Dictionary<string, object>)Root.Value["limits"])[name ?? "default"];

        /// <summary>A byte string: hex with optional spaces, or an array of hex parts and {repeat, count}.</summary>
        public static byte[] Bytes(object value)
        {
            if (value is string hex)
                return Hex(hex);
            var bytes = new List<byte>();
            foreach (object part in (IList)value)
            {
                if (part is string text)
                {
                    bytes.AddRange(Hex(text));
                    continue;
                }
                var repeat = (Dictionary<string, object>)part;
                byte[] unit = Hex((string)repeat["repeat"]);
                for (int i = 0; i < Convert.ToInt32(repeat["count"]); i++)
                    bytes.AddRange(unit);
            }
            return bytes.ToArray();
        }

        public static uint UInt(object value) => Convert.ToUInt32(value);

        static byte[] Hex(string text)
        {
            string digits = text.Replace(" ", "");
            var bytes = new byte[digits.Length / 2];
            for (int i = 0; i < bytes.Length; i++)
                bytes[i] = Convert.ToByte(digits.Substring(2 * i, 2), 16);
            return bytes;
        }

        static Dictionary<string, object> Load()
        {
            string path = Path.Combine(RepoRoot, "protocol", "vectors", "v1.json");
            var json = new JavaScriptSerializer { MaxJsonLength = int.MaxValue };
            return (Dictionary<string, object>)json.DeserializeObject(File.ReadAllText(path));
        }
    }
}
