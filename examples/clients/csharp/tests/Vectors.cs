// The protocol vectors (protocol/vectors/v1.json and v2.json), loaded once, with their
// byte-string encoding.
using System;
using System.Collections;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Web.Script.Serialization;

namespace BlinkStore.Client.Tests
{
    /// <summary>One vector file as dictionaries and arrays.</summary>
    sealed class VectorFile
    {
        readonly Dictionary<string, object> root;

        public VectorFile(string name)
        {
            Name = name;
            string path = Path.Combine(Vectors.RepoRoot, "protocol", "vectors", name);
            var json = new JavaScriptSerializer { MaxJsonLength = int.MaxValue };
            root = (Dictionary<string, object>)json.DeserializeObject(File.ReadAllText(path));
        }

        /// <summary>The file name ("v1.json"), for messages.</summary>
        public string Name { get; }

        /// <summary>The version the file's decode cases are decoded at.</summary>
        public int ProtocolVersion => Convert.ToInt32(root["protocol_version"]);

        /// <summary>A top-level section's cases; none when the file has no such section.</summary>
        public IEnumerable<Dictionary<string, object>> Section(string name) =>
            root.ContainsKey(name) ? ((IList)root[name]).Cast<Dictionary<string, object>>() : Enumerable.Empty<Dictionary<string, object>>();

        /// <summary>A named limit set (null: the default set).</summary>
        public Dictionary<string, object> Limits(string name) =>
            (Dictionary<string, object>)((Dictionary<string, object>)root["limits"])[name ?? "default"];
    }

    /// <summary>The vector files, and helpers to read their fields.</summary>
    static class Vectors
    {
        static readonly Lazy<VectorFile> V1File = new Lazy<VectorFile>(() => new VectorFile("v1.json"));
        static readonly Lazy<VectorFile> V2File = new Lazy<VectorFile>(() => new VectorFile("v2.json"));

        /// <summary>Every version-1 frame.</summary>
        public static VectorFile V1 => V1File.Value;

        /// <summary>What version 2 adds.</summary>
        public static VectorFile V2 => V2File.Value;

        /// <summary>Both files: a version-2 client passes every case of each.</summary>
        public static IEnumerable<VectorFile> All => new[] { V1, V2 };

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
    }
}
