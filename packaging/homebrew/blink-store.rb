# Homebrew formula for the release archives. A template: packaging/render.sh
# fills in @VERSION@ and each @SHA256:<target>@ from a release's SHA256SUMS
# (the release workflow does it); never edit the rendered copy by hand.
class BlinkStore < Formula
  desc "In-memory LRU cache server with a hard memory cap and a small binary protocol"
  homepage "https://github.com/blink-store/blink-store"
  version "@VERSION@"
  license any_of: ["MIT", "Apache-2.0"]

  on_macos do
    on_arm do
      url "https://github.com/blink-store/blink-store/releases/download/v@VERSION@/blink-store-v@VERSION@-aarch64-apple-darwin.tar.gz"
      sha256 "@SHA256:aarch64-apple-darwin@"
    end
    on_intel do
      url "https://github.com/blink-store/blink-store/releases/download/v@VERSION@/blink-store-v@VERSION@-x86_64-apple-darwin.tar.gz"
      sha256 "@SHA256:x86_64-apple-darwin@"
    end
  end

  on_linux do
    on_arm do
      url "https://github.com/blink-store/blink-store/releases/download/v@VERSION@/blink-store-v@VERSION@-aarch64-unknown-linux-musl.tar.gz"
      sha256 "@SHA256:aarch64-unknown-linux-musl@"
    end
    on_intel do
      url "https://github.com/blink-store/blink-store/releases/download/v@VERSION@/blink-store-v@VERSION@-x86_64-unknown-linux-musl.tar.gz"
      sha256 "@SHA256:x86_64-unknown-linux-musl@"
    end
  end

  def install
    bin.install "blink-store", "blink-cli"
    doc.install "README.md"
    prefix.install "LICENSE-MIT", "LICENSE-APACHE"
  end

  service do
    run [opt_bin/"blink-store", "--unix-socket", var/"run/blink-store.sock"]
    keep_alive true
    log_path var/"log/blink-store.log"
    error_log_path var/"log/blink-store.log"
  end

  test do
    port = free_port
    server = spawn bin/"blink-store", "--tcp", "127.0.0.1:#{port}", "--memory-limit", "8MiB"
    begin
      # Wait for the server to answer, at most ten seconds.
      healthy = 50.times.any? do
        next true if quiet_system bin/"blink-store", "ping", "--tcp", "127.0.0.1:#{port}"

        sleep 0.2
        false
      end
      assert healthy, "blink-store did not answer PING"
      assert_equal "PONG\n", shell_output("#{bin}/blink-cli --tcp 127.0.0.1:#{port} ping")
    ensure
      Process.kill("TERM", server)
      Process.wait(server)
    end
  end
end
