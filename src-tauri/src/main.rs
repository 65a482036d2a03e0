// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    licence_app::memory::tune_glibc_malloc();
    licence_app::run();
}
