//! The `trustx` binary: the engine's command line with the built-in plugins linked.

fn main() {
    trustx_plugins::link();
}
