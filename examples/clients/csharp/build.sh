#!/usr/bin/env bash
# Compiles the library, the tests, the quickstart and the benchmark with mcs -warnaserror into
# bin/ (the files BlinkStore.Client.csproj lists). Used by test.sh and bench.sh.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$here"
mkdir -p bin
nunit=/usr/lib/cli/nunit.framework-2.6.3/nunit.framework.dll
mcs -nologo -warnaserror -define:TRACE -target:library -doc:bin/BlinkStore.Client.xml -out:bin/BlinkStore.Client.dll src/*.cs
mcs -nologo -warnaserror -target:library -out:bin/BlinkStore.Client.Tests.dll -r:bin/BlinkStore.Client.dll \
	-r:"$nunit" -r:Mono.Posix.dll -r:System.Web.Extensions.dll tests/*.cs
[ -f examples/Quickstart/Quickstart.cs ] && mcs -nologo -warnaserror -out:bin/Quickstart.exe -r:bin/BlinkStore.Client.dll examples/Quickstart/Quickstart.cs
[ -f bench/Bench.cs ] && mcs -nologo -warnaserror -optimize+ -out:bin/Bench.exe -r:bin/BlinkStore.Client.dll bench/Bench.cs
cp "$nunit" bin/
