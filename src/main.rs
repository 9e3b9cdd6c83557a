//! rnetns: a drop-in replacement for iproute2's `ip netns`.

fn main() {
    std::process::exit(rnetns::app::main_with(std::env::args_os().collect()));
}
