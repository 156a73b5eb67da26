//! The `trustx` binary: the engine's command line with the built-in plugins linked.

fn main() -> std::process::ExitCode {
    trustx_plugins::link();
    trustx_framework::cli::main()
}
