//! The `blink-store` server binary.

fn main() {
    println!("blink-store {}", env!("CARGO_PKG_VERSION"));
}
