//! `itsor`: the command line. `itsor serve` serves the component over HTTP; `itsor migrate`
//! applies the database migrations; `itsor keys` manages the signing keys. Everything lives
//! in the `itsor` library (see its `cli` module).

fn main() -> std::process::ExitCode {
    itsor::run()
}
