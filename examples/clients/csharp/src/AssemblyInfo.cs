// Assembly attributes: the test assembly may use the internal command layer.
using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("BlinkStore.Client.Tests")]
