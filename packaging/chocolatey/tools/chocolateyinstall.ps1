# Installs the Windows release archive into the package's tools directory;
# Chocolatey puts shims for blink-store.exe and blink-cli.exe on the PATH.
# A template: packaging/render.sh fills in @VERSION@ and the checksum.
$ErrorActionPreference = 'Stop'
$toolsDir = Split-Path -Parent $MyInvocation.MyCommand.Definition

$packageArgs = @{
  packageName    = $env:ChocolateyPackageName
  unzipLocation  = $toolsDir
  url64bit       = 'https://github.com/blink-store/blink-store/releases/download/v@VERSION@/blink-store-v@VERSION@-x86_64-pc-windows-msvc.zip'
  checksum64     = '@SHA256:x86_64-pc-windows-msvc@'
  checksumType64 = 'sha256'
}
Install-ChocolateyZipPackage @packageArgs
